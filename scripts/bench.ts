// bun run bench: speed and size figures (printed, not asserted: these machines are shared
// and noisy). Builds dist/cpuprof first if it is missing.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dir, "..");
const exe = resolve(root, "dist/cpuprof");
const fixtures = resolve(root, "../shared/fixtures");
const hasKvm = existsSync("/dev/kvm");

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function fmt(ms: number): string {
  return ms >= 1 ? `${ms.toFixed(2)} ms` : `${(ms * 1000).toFixed(1)} µs`;
}

/** Median wall time of a whole process, in ms. */
function timeProcess(argv: string[], runs: number, okCodes = [0]): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const p = Bun.spawnSync(argv, { stdout: "ignore", stderr: "ignore" });
    const t = performance.now() - t0;
    if (!okCodes.includes(p.exitCode ?? -1)) throw new Error(`${argv.join(" ")} exited ${p.exitCode}`);
    times.push(t);
  }
  return median(times);
}

/** Median time of an in-process function, in ms, after a warm-up. */
function timeInProcess(fn: () => unknown, runs: number, warmup = Math.min(20, runs)): number {
  for (let i = 0; i < warmup; i++) fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  return median(times);
}

function line(label: string, value: string): void {
  console.log(`${label.padEnd(58)} ${value}`);
}

if (!existsSync(exe)) {
  const b = Bun.spawnSync([process.execPath, "run", "build"], { cwd: root, stdout: "inherit", stderr: "inherit" });
  if (b.exitCode !== 0) process.exit(1);
}

console.log(`cpuprof benchmark (${new Date().toISOString()}), ${navigator.hardwareConcurrency} CPUs, /dev/kvm ${hasKvm ? "present" : "absent"}`);
console.log("\n## process start and capture");
line("dist/cpuprof --version (median of 20)", fmt(timeProcess([exe, "--version"], 20)));
if (hasKvm) {
  line("dist/cpuprof host --json (median of 20)", fmt(timeProcess([exe, "host", "--json"], 20)));
  const { captureLiveHost } = await import("../src/host/live.ts");
  line("in-process captureLiveHost() (median of 200)", fmt(timeInProcess(() => captureLiveHost(), 200)));
}


// ---- profiles: size and load time (issue: embedded profiles) ----
{
  const { embeddedProfileInfo, embeddedProfileText } = await import("../src/embedded/profiles.ts");
  const { parseProfile } = await import("../src/model/profile.ts");
  const { parseJsonText } = await import("../src/model/document.ts");
  const { deflateSync } = await import("fflate");
  console.log("\n## embedded profiles (goal: CPUID + MSR data <= 1 KB compressed)");
  for (const info of embeddedProfileInfo()) {
    const doc = JSON.parse(embeddedProfileText(info.name)!);
    const data = new TextEncoder().encode(JSON.stringify({ cpuid: doc.cpuid, msrs: doc.msrs }));
    const dataBytes = deflateSync(data, { level: 9 }).byteLength;
    line(`${info.name}: whole profile / CPUID+MSR data, deflated`, `${info.compressedBytes} B / ${dataBytes} B`);
  }
  const compressed = embeddedProfileInfo().map((i) => deflateSync(new TextEncoder().encode(embeddedProfileText(i.name)!), { level: 9 }));
  line(
    "decompress + parse all embedded profiles (median of 200)",
    fmt(timeInProcess(() => compressed.forEach((c, k) => parseProfile(parseJsonText(new TextDecoder().decode(Bun.inflateSync(c)), `p${k}`), `p${k}`)), 200)),
  );
}

// ---- apply (goal: applyProfile <= 50 µs) ----
const { loadHostFile } = await import("../src/formats/host-file.ts");
const { readFileSync, existsSync: exists } = await import("node:fs");
const hostFiles = exists(join(fixtures, "hosts/firecracker"))
  ? (await import("node:fs")).readdirSync(join(fixtures, "hosts/firecracker")).filter((f) => f.endsWith(".json")).sort()
  : [];
const fixtureHosts = hostFiles.map((f) => {
  const path = join(fixtures, "hosts/firecracker", f);
  return { label: f.replace(/^fingerprint_|_6\.1host\.json$/g, ""), host: loadHostFile(readFileSync(path, "utf8"), path) };
});
if (fixtureHosts.length === 0) console.log("\n(no ../shared/fixtures: apply, filter and fleet figures skipped)");
else {
  const { applyProfile } = await import("../src/profile/apply.ts");
  const { embeddedProfile } = await import("../src/embedded/profiles.ts");
  const { buildMsrFilter, knownMsrsOf } = await import("../src/profile/filter.ts");
  const { parseProfile, serializeProfile } = await import("../src/model/profile.ts");
  const { parseHostCapture, serializeHost } = await import("../src/model/host.ts");
  const spr = fixtureHosts.find((h) => h.label.includes("SAPPHIRE"))!.host;
  const skylake = embeddedProfile("skylake")!;
  console.log("\n## apply (goal: applyProfile <= 50 µs)");
  line("applyProfile(skylake, SPR host), same objects (median of 2000)", fmt(timeInProcess(() => applyProfile(skylake, spr, { vcpuId: 1, vcpuCount: 4 }), 2000)));
  // Fresh objects every call: nothing cached, the honest cold figure.
  const profText = serializeProfile(skylake);
  const hostText = serializeHost(spr);
  const freshPairs = Array.from({ length: 200 }, () => [parseProfile(JSON.parse(profText), "p"), parseHostCapture(JSON.parse(hostText), "h")] as const);
  let k = 0;
  line("applyProfile, fresh profile and host objects (median of 200)", fmt(timeInProcess(() => { const [p, h] = freshPairs[k++ % freshPairs.length]!; return applyProfile(p, h); }, 200, 0)));
  let largest = { known: [] as number[], permitted: [] as number[] };
  for (const { host } of fixtureHosts) {
    const known = knownMsrsOf(host);
    if (known.length > largest.known.length) largest = { known, permitted: known.filter((_, i) => i % 2 === 0) };
  }
  line(`buildMsrFilter, ${largest.known.length} known MSRs, every other one permitted (median of 2000)`, fmt(timeInProcess(() => buildMsrFilter(largest.known, largest.permitted), 2000)));

  // ---- fleet (goals: baseline of 1,000 captures < 1 s) ----
  const { syntheticFleet } = await import("../src/fleet/synthetic.ts");
  const { baselineProfile } = await import("../src/fleet/baseline-profile.ts");
  const { compatibilityMatrix } = await import("../src/fleet/matrix.ts");
  const { embeddedProfileNames } = await import("../src/embedded/profiles.ts");
  const intel = fixtureHosts.filter((h) => h.host.vendor === "intel");
  const fleet = syntheticFleet(intel, { count: 1000, seed: 42 });
  console.log("\n## fleet");
  const t0 = performance.now();
  baselineProfile(fleet.map((f) => f.host), { name: "bench" });
  line("baseline over 1,000 synthetic Intel captures (one run)", fmt(performance.now() - t0));
  const mixed = syntheticFleet(fixtureHosts, { count: 1000, seed: 7 });
  const profiles = embeddedProfileNames().map((name) => ({ name, profile: embeddedProfile(name)! }));
  const t1 = performance.now();
  compatibilityMatrix(mixed, profiles);
  line(`matrix 1,000 hosts x ${profiles.length} embedded profiles (one run)`, fmt(performance.now() - t1));
}

// ---- 10,000 guest checks in one process: time and leaks ----
if (hasKvm) {
  const { readdirSync, readFileSync: read } = await import("node:fs");
  const { captureLiveHost } = await import("../src/host/live.ts");
  const { applyProfile } = await import("../src/profile/apply.ts");
  const { hostProfileOf } = await import("../src/profile/migration.ts");
  const { knownMsrsOf } = await import("../src/profile/filter.ts");
  const { planProbe } = await import("../src/verify/plan.ts");
  const { runGuestProbe } = await import("../src/guest/index.ts");
  const { Kvm } = await import("../src/kvm/index.ts");
  const fds = () => readdirSync("/proc/self/fd").length;
  // Shared mappings are ours (guest RAM, kvm_run); private anonymous ones come and go with runtime threads.
  const sharedMaps = () => read("/proc/self/maps", "utf8").split("\n").filter((l) => / [r-][w-][x-]s /.test(l)).length;
  const host = captureLiveHost();
  const config = applyProfile(hostProfileOf(host), host);
  const plan = planProbe(config, host, knownMsrsOf(host));
  const timers = () => (read("/proc/self/timers", "utf8").match(/^ID: /gm) ?? []).length;
  const count = Number(process.env.CPUPROF_BENCH_GUESTS ?? 10_000);
  using kvm = Kvm.open();
  const before = { fds: fds(), maps: sharedMaps(), timers: timers() };
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    runGuestProbe({ cpuid: config.cpuid, msrs: config.msrs, filter: config.msrFilter }, plan, { kvm });
    times.push(performance.now() - t);
  }
  const after = { fds: fds(), maps: sharedMaps(), timers: timers() };
  console.log(`\n## guest checks (${count} in one process)`);
  line("runGuestProbe, whole check incl. VM create/teardown (median)", fmt(median(times)));
  line("file descriptors before / after", `${before.fds} / ${after.fds}${after.fds === before.fds ? "" : "  LEAK"}`);
  line("shared mappings before / after", `${before.maps} / ${after.maps}${after.maps === before.maps ? "" : "  LEAK"}`);
  line("POSIX timers (run watchdog) before / after", `${before.timers} / ${after.timers}${after.timers === before.timers ? "" : "  LEAK"}`);
}

// ---- verify vs QEMU (goal: cpuprof <= 0.5 x QEMU) ----
try {
  const { benchQemuVsCpuprof } = await import("./bench-qemu.ts");
  console.log("\n## verify vs QEMU (goal: cpuprof <= 0.5 x QEMU)");
  const r = await benchQemuVsCpuprof({ exe, runs: 10 });
  line("dist/cpuprof verify host, whole process (median)", fmt(r.cpuprofMs));
  line("QEMU minimal guest running one CPUID, whole process (median)", r.qemuMs === null ? "n/a" : fmt(r.qemuMs));
  line("ratio cpuprof / QEMU", r.ratio === null ? "n/a" : r.ratio.toFixed(2));
  if (r.note) console.log(`  note: ${r.note}`);
} catch (e) {
  console.log(`\n(verify vs QEMU skipped: ${(e as Error).message})`);
}

export { fixtures, fmt, line, median, timeInProcess, timeProcess, exe, root, hasKvm, mkdtempSync, rmSync, writeFileSync, tmpdir, join };
