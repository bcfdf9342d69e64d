// In-process guest checks, time per phase: the bench's guest section (scripts/bench.ts), and on its own
// `bun scripts/probe-phases.ts [count]`.
import { runGuestProbe } from "../src/guest/index.ts";
import { captureLiveHost } from "../src/host/live.ts";
import { Kvm, backgroundClosesSettled } from "../src/kvm/index.ts";
import { knownMsrsOf } from "../src/profile/filter.ts";
import { applyProfile } from "../src/profile/apply.ts";
import { hostProfileOf } from "../src/profile/migration.ts";
import { planProbe, type ProbePlan } from "../src/verify/plan.ts";

export const PROBE_PHASES = ["memory", "vm", "vcpu", "setup", "runs", "read", "teardown"] as const;

export interface GuestCheckTimes {
  plan: ProbePlan;
  /** Milliseconds per phase, one entry per check. */
  phases: Map<(typeof PROBE_PHASES)[number], number[]>;
  /** Milliseconds per whole check. */
  times: number[];
  /** Wall time of the loop over the count, background closes included. */
  wallPerCheck: number;
}

/** `count` guest checks of the host profile on this host, back to back in this process, timed by phase. */
export async function timeGuestChecks(count: number): Promise<GuestCheckTimes> {
  const host = captureLiveHost();
  const config = applyProfile(hostProfileOf(host), host);
  const plan = planProbe(config, host, knownMsrsOf(host));
  using kvm = Kvm.open();
  const phases = new Map(PROBE_PHASES.map((p) => [p, [] as number[]]));
  const times: number[] = [];
  const wallStart = performance.now();
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    let last = t;
    runGuestProbe({ cpuid: config.cpuid, msrs: config.msrs, filter: config.msrFilter }, plan, {
      kvm,
      onPhase: (p) => {
        const now = performance.now();
        phases.get(p as (typeof PROBE_PHASES)[number])!.push(now - last);
        last = now;
      },
    });
    const end = performance.now();
    phases.get("teardown")!.push(end - last);
    times.push(end - t);
  }
  // runGuestProbe returns once the results are read; the VM's fds close on I/O threads (the kernel's
  // teardown overlaps with the next check), so callers' leak counts wait for those closes.
  await backgroundClosesSettled();
  return { plan, phases, times, wallPerCheck: (performance.now() - wallStart) / count };
}

if (import.meta.main) {
  const count = Number(process.argv[2] ?? 2000);
  const { phases, times, wallPerCheck } = await timeGuestChecks(count);
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  const s = [...times].sort((a, b) => a - b);
  const at = (q: number) => s[Math.floor(count * q)]!.toFixed(3);
  console.log(
    PROBE_PHASES.map((n) => `${n} ${(med(phases.get(n)!) * 1000).toFixed(0)}`).join("  "),
    ` | per check (wall/count) ${wallPerCheck.toFixed(3)} ms | median ${med(times).toFixed(3)} ms p10 ${at(0.1)} p90 ${at(0.9)}`,
  );
}
