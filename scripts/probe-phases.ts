// In-process guest checks, time per phase (the bench's guest section on its own): bun scripts/probe-phases.ts [count]
import { captureLiveHost } from "../src/host/live.ts";
import { applyProfile } from "../src/profile/apply.ts";
import { hostProfileOf } from "../src/profile/migration.ts";
import { knownMsrsOf } from "../src/profile/filter.ts";
import { planProbe } from "../src/verify/plan.ts";
import { runGuestProbe } from "../src/guest/index.ts";
import { Kvm, backgroundClosesSettled } from "../src/kvm/index.ts";

const count = Number(process.argv[2] ?? 2000);
const host = captureLiveHost();
const config = applyProfile(hostProfileOf(host), host);
const plan = planProbe(config, host, knownMsrsOf(host));
using kvm = Kvm.open();
const names = ["memory", "vm", "vcpu", "setup", "runs", "read", "teardown"];
const phases = new Map<string, number[]>(names.map((p) => [p, []]));
const times: number[] = [];
const wall0 = performance.now();
for (let i = 0; i < count; i++) {
  const t = performance.now();
  let last = t;
  runGuestProbe({ cpuid: config.cpuid, msrs: config.msrs, filter: config.msrFilter }, plan, {
    kvm,
    onPhase: (p) => {
      const now = performance.now();
      phases.get(p)!.push(now - last);
      last = now;
    },
  });
  const end = performance.now();
  phases.get("teardown")!.push(end - last);
  times.push(end - t);
}
await backgroundClosesSettled();
const wall = (performance.now() - wall0) / count;
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const s = [...times].sort((a, b) => a - b);
console.log(
  names.map((n) => `${n} ${(med(phases.get(n)!) * 1000).toFixed(0)}`).join("  "),
  ` | per check (wall/count) ${wall.toFixed(3)} ms | median ${med(times).toFixed(3)} ms p10 ${s[Math.floor(count * 0.1)]!.toFixed(3)} p90 ${s[Math.floor(count * 0.9)]!.toFixed(3)}`,
);
