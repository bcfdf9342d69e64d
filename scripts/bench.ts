// bun run bench: speed and size figures (printed, not asserted: these machines are shared
// and noisy), each with its goal (issue 15) and whether this run met it; a table of all of them
// ends the output. Builds dist/cpuprof first. CPUPROF_BENCH_GUESTS sets the number of in-process
// guest checks (default 10,000); CPUPROF_BENCH_FLEET the size of the CLI fleet (default 100,000).
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dir, "..");
const exe = resolve(root, "dist/cpuprof");
const fixtures = resolve(root, "../shared/fixtures");
const hasKvm = existsSync("/dev/kvm");
const work = mkdtempSync(join(tmpdir(), "cpuprof-bench-"));
process.on("exit", () => rmSync(work, { recursive: true, force: true }));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function fmt(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : ms >= 1 ? `${ms.toFixed(2)} ms` : `${(ms * 1000).toFixed(1)} µs`;
}

/** Wall time of one whole process, in ms. */
function timeOnce(argv: string[], okCodes = [0]): number {
  const t0 = performance.now();
  const p = Bun.spawnSync(argv, { stdout: "ignore", stderr: "ignore" });
  const t = performance.now() - t0;
  if (!okCodes.includes(p.exitCode ?? -1)) throw new Error(`${argv.join(" ")} exited ${p.exitCode}`);
  return t;
}

/** Medians of two processes run in alternating pairs, so a change in machine load weighs on both alike. */
function timePair(a: string[], b: string[], runs: number, okA = [0], okB = [0]): [number, number] {
  const ta: number[] = [],
    tb: number[] = [];
  for (let i = 0; i < runs; i++) {
    ta.push(timeOnce(a, okA));
    tb.push(timeOnce(b, okB));
  }
  return [median(ta), median(tb)];
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
  console.log(`${label.padEnd(64)} ${value}`);
}

interface Figure {
  measure: string;
  figure: string;
  goal: string;
  /** null: not measured here (no /dev/kvm, no fixtures, no QEMU). */
  met: boolean | null;
}
const figures: Figure[] = [];
function goal(measure: string, figure: string, goalText: string, met: boolean | null): void {
  figures.push({ measure, figure, goal: goalText, met });
  line(measure, `${figure}   (goal ${goalText}: ${met === null ? "not measured" : met ? "met" : "NOT MET"})`);
}

{
  const b = Bun.spawnSync([process.execPath, "run", "build"], { cwd: root, stdout: "inherit", stderr: "inherit" });
  if (b.exitCode !== 0) process.exit(1);
}

console.log(
  `cpuprof benchmark (${new Date().toISOString()}), ${navigator.hardwareConcurrency} CPUs, load ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}, /dev/kvm ${hasKvm ? "present" : "absent"}`,
);

// ---- start-up: --version against a compiled Bun hello world ----
{
  console.log("\n## start-up");
  const hello = join(work, "hello");
  writeFileSync(`${hello}.ts`, `console.log("hello");\n`);
  const b = Bun.spawnSync(
    [
      process.execPath,
      "build",
      "--compile",
      "--minify",
      "--bytecode",
      "--sourcemap=none",
      `${hello}.ts`,
      "--outfile",
      hello,
    ],
    { stdout: "ignore", stderr: "pipe" },
  );
  if (b.exitCode !== 0) throw new Error(`compiling hello world: ${b.stderr.toString()}`);
  const [cpuprof, helloMs] = timePair([exe, "--version"], [hello], 40);
  line("compiled Bun hello world (median of 40, alternating)", fmt(helloMs));
  line("dist/cpuprof --version (median of 40, alternating)", fmt(cpuprof));
  goal(
    "--version / compiled hello world",
    `${fmt(cpuprof)} / ${fmt(helloMs)} = ${(cpuprof / helloMs).toFixed(2)}`,
    "<= 1.3",
    cpuprof / helloMs <= 1.3,
  );
  if (hasKvm)
    line(
      "dist/cpuprof host --json (median of 20)",
      fmt(median(Array.from({ length: 20 }, () => timeOnce([exe, "host", "--json"])))),
    );
}

// ---- embedded profiles: size ----
{
  const { embeddedProfileInfo } = await import("../src/embedded/profiles.ts");
  console.log("\n## embedded profiles (deflated as the executable carries them)");
  const infos = embeddedProfileInfo().filter((i) => i.name !== "host");
  for (const info of infos) line(`${info.name}`, `${info.compressedBytes} B`);
  const largest = Math.max(...infos.map((i) => i.compressedBytes));
  goal(
    "largest embedded profile, deflated",
    `${Math.min(...infos.map((i) => i.compressedBytes))}-${largest} B`,
    "<= 1,024 B",
    largest <= 1024,
  );
}

// ---- apply, matrix (in-process) ----
const { loadHostFile } = await import("../src/formats/host-file.ts");
const hostDir = join(fixtures, "hosts/firecracker");
const fixtureHosts = existsSync(hostDir)
  ? readdirSync(hostDir)
      .filter((f) => f.endsWith(".json"))
      .sort()
      .map((f) => ({
        label: f.replace(/^fingerprint_|host\.json$/g, ""),
        host: loadHostFile(readFileSync(join(hostDir, f), "utf8"), f),
      }))
  : [];
if (fixtureHosts.length === 0) {
  console.log("\n(no ../shared/fixtures: apply and fleet figures skipped)");
  for (const m of [
    "applyProfile, fresh objects",
    "matrix 1,000 hosts x 8 profiles, in-process",
    "matrix over 100,000 captures from the CLI",
  ])
    goal(m, "-", "-", null);
} else {
  const { applyProfile } = await import("../src/profile/apply.ts");
  const { embeddedProfile, embeddedProfileNames } = await import("../src/embedded/profiles.ts");
  const { parseProfile, serializeProfile } = await import("../src/model/profile.ts");
  const { parseHostCapture, serializeHost } = await import("../src/model/host.ts");
  const spr = fixtureHosts.find((h) => h.label.startsWith("INTEL_SAPPHIRE_RAPIDS_6.1"))!.host;
  const skylake = embeddedProfile("skylake")!;
  console.log("\n## apply");
  line(
    "applyProfile(skylake, SPR host), same objects (median of 2000)",
    fmt(timeInProcess(() => applyProfile(skylake, spr, { vcpuId: 1, vcpuCount: 4 }), 2000)),
  );
  // Fresh objects every call, parsed from the same text: nothing is cached per object, but applyProfile
  // maps equal content to one canonical copy (src/profile/content-cache.ts), so these hit its caches.
  const profText = serializeProfile(skylake);
  const hostText = serializeHost(spr);
  const fresh = Array.from(
    { length: 400 },
    () => [parseProfile(JSON.parse(profText), "p"), parseHostCapture(JSON.parse(hostText), "h")] as const,
  );
  let k = 0;
  const applyFresh = timeInProcess(
    () => {
      const [p, h] = fresh[k++ % fresh.length]!;
      return applyProfile(p, h);
    },
    200,
    200,
  );
  goal("applyProfile, fresh profile and host objects (median of 200)", fmt(applyFresh), "<= 50 µs", applyFresh <= 0.05);
  // Content never seen before (each profile renamed): the whole computation, every call.
  const novel = Array.from(
    { length: 400 },
    (_, i) =>
      [
        { ...parseProfile(JSON.parse(profText), "p"), name: `bench-${i}` },
        parseHostCapture(JSON.parse(hostText), "h"),
      ] as const,
  );
  let n = 0;
  line(
    "applyProfile, profile content never seen before (median of 200)",
    fmt(
      timeInProcess(
        () => {
          const [p, h] = novel[n++ % novel.length]!;
          return applyProfile(p, h);
        },
        200,
        200,
      ),
    ),
  );

  const { syntheticFleet } = await import("../src/fleet/synthetic.ts");
  const { baselineProfile } = await import("../src/fleet/baseline-profile.ts");
  const { compatibilityMatrix } = await import("../src/fleet/matrix.ts");
  console.log("\n## fleet, in-process");
  const intel = fixtureHosts.filter((h) => h.host.vendor === "intel");
  const t0 = performance.now();
  baselineProfile(
    syntheticFleet(intel, { count: 1000, seed: 42 }).map((f) => f.host),
    { name: "bench" },
  );
  line("baseline over 1,000 synthetic Intel captures (one run)", fmt(performance.now() - t0));
  const profiles = embeddedProfileNames().map((name) => ({ name, profile: embeddedProfile(name)! }));
  // Fresh host objects for every run (nothing cached per host); the profiles are compiled inside each run.
  // One untimed run first: the JIT's warm-up is paid once per process (the CLI figure below has it).
  compatibilityMatrix(syntheticFleet(fixtureHosts, { count: 1000, seed: 6 }), profiles);
  const matrixRuns = Array.from({ length: 5 }, (_, i) => {
    const mixed = syntheticFleet(fixtureHosts, { count: 1000, seed: 7 + i });
    const t = performance.now();
    compatibilityMatrix(mixed, profiles);
    return performance.now() - t;
  });
  const matrixMs = median(matrixRuns);
  goal(
    `matrix 1,000 hosts x ${profiles.length} profiles, in-process (median of 5 after 1)`,
    fmt(matrixMs),
    "<= 100 ms",
    matrixMs <= 100,
  );

  console.log("\n## fleet from the CLI");
  const count = Number(process.env.CPUPROF_BENCH_FLEET ?? 100_000);
  const fleetFile = join(work, "fleet.ndjson");
  const { writeFleet } = await import("./gen-fleet.ts");
  const fd = openSync(fleetFile, "w");
  const gen = writeFleet(fd, { count, seed: 1 });
  closeSync(fd);
  line(
    `scripts/gen-fleet.ts: captures (distinct), NDJSON size`,
    `${gen.lines} (${gen.distinct}), ${(statSync(fleetFile).size / 1048576).toFixed(0)} MiB`,
  );
  const t1 = performance.now();
  const run = Bun.spawnSync([exe, "matrix", "-"], { stdin: Bun.file(fleetFile), stdout: "ignore", stderr: "pipe" });
  const fleetMs = performance.now() - t1;
  // exit 1 is a result, not a failure: not every host of the fleet runs every profile
  if (run.exitCode !== 0 && run.exitCode !== 1)
    throw new Error(`matrix over the fleet exited ${run.exitCode}: ${run.stderr.toString()}`);
  const rss = run.resourceUsage?.maxRSS ?? 0;
  goal(
    `dist/cpuprof matrix - < ${count.toLocaleString("en")} captures: time`,
    fmt(fleetMs),
    "<= 10 s",
    fleetMs <= 10_000,
  );
  goal(
    `dist/cpuprof matrix - < ${count.toLocaleString("en")} captures: peak memory`,
    `${(rss / 1048576).toFixed(0)} MiB`,
    "<= 1 GB",
    rss > 0 && rss <= 1024 ** 3,
  );
}

// ---- guest checks in one process: time per phase, leaks ----
if (!hasKvm) goal("in-process runGuestProbe (median)", "-", "<= 3 ms", null);
else {
  const { readFileSync: read } = await import("node:fs");
  const { PROBE_PHASES: phaseNames, timeGuestChecks } = await import("./probe-phases.ts");
  const fds = () => readdirSync("/proc/self/fd").length;
  // Shared mappings are ours (guest RAM, kvm_run); private anonymous ones come and go with runtime threads.
  const sharedMaps = () =>
    read("/proc/self/maps", "utf8")
      .split("\n")
      .filter((l) => / [r-][w-][x-]s /.test(l)).length;
  const timers = () => (read("/proc/self/timers", "utf8").match(/^ID: /gm) ?? []).length;
  const count = Number(process.env.CPUPROF_BENCH_GUESTS ?? 10_000);
  const before = { fds: fds(), maps: sharedMaps(), timers: timers() };
  const { plan, phases, times, wallPerCheck } = await timeGuestChecks(count);
  const after = { fds: fds(), maps: sharedMaps(), timers: timers() };
  console.log(
    `\n## guest checks (${count} in one process; ${plan.cpuid.length} CPUID and ${plan.msrs.length} MSR probes each)`,
  );
  const what: Record<(typeof phaseNames)[number], string> = {
    memory: "guest memory (mmap) and probe image",
    vm: "VM create, MSR filter, memory slot, caps",
    vcpu: "vCPU create (and kvm_run mmap)",
    setup: "CPUID, MSR values, registers",
    runs: "watchdog and KVM_RUNs",
    read: "results, KVM_GET_CPUID2",
    teardown: "teardown (timer, memory; VM fds closed in the background)",
  };
  for (const p of phaseNames) line(`  phase: ${what[p]} (median)`, fmt(median(phases.get(p)!)));
  const sorted = [...times].sort((a, b) => a - b);
  line(
    "runGuestProbe p10 / p90",
    `${fmt(sorted[Math.floor(count * 0.1)]!)} / ${fmt(sorted[Math.floor(count * 0.9)]!)}`,
  );
  line("checks back to back: wall time / count (background closes included)", fmt(wallPerCheck));
  const probeMs = median(times);
  goal(
    "in-process runGuestProbe, whole check incl. VM create/teardown (median)",
    fmt(probeMs),
    "<= 3 ms",
    probeMs <= 3,
  );
  line("file descriptors before / after", `${before.fds} / ${after.fds}${after.fds === before.fds ? "" : "  LEAK"}`);
  line("shared mappings before / after", `${before.maps} / ${after.maps}${after.maps === before.maps ? "" : "  LEAK"}`);
  line(
    "POSIX timers (run watchdog) before / after",
    `${before.timers} / ${after.timers}${after.timers === before.timers ? "" : "  LEAK"}`,
  );
}

// ---- a cold verify host, by phase ----
if (hasKvm) {
  const { compileCommand } = await import("./build.ts");
  const phasesExe = join(work, "verify-phases");
  const b = Bun.spawnSync(compileCommand(resolve(root, "scripts/verify-phases.ts"), phasesExe), {
    cwd: root,
    stdout: "ignore",
    stderr: "pipe",
  });
  if (b.exitCode !== 0) throw new Error(`compiling scripts/verify-phases.ts: ${b.stderr.toString()}`);
  const runs = Array.from({ length: 10 }, () => {
    const r = Bun.spawnSync([phasesExe], { stdout: "pipe", stderr: "pipe" });
    if (r.exitCode !== 0) throw new Error(`scripts/verify-phases.ts exited ${r.exitCode}: ${r.stderr.toString()}`);
    return JSON.parse(r.stdout.toString()) as [string, number][];
  });
  console.log(
    "\n## a cold verify host by phase (scripts/verify-phases.ts compiled as dist/cpuprof is; medians of 10 fresh processes)",
  );
  runs[0]!.forEach(([name], i) => line(`  ${name}`, fmt(median(runs.map((r) => r[i]![1])))));
  line(
    "  sum of the phases (process exit and the CLI's own output not included)",
    fmt(median(runs.map((r) => r.reduce((t, [, ms]) => t + ms, 0)))),
  );
}

// ---- verify vs QEMU ----
try {
  const { benchQemuVsCpuprof } = await import("./bench-qemu.ts");
  console.log("\n## verify vs QEMU");
  const r = await benchQemuVsCpuprof({ exe, runs: 10 });
  line("dist/cpuprof verify host, whole process (median)", fmt(r.cpuprofMs));
  line("QEMU minimal guest running one CPUID, whole process (median)", r.qemuMs === null ? "n/a" : fmt(r.qemuMs));
  if (r.note) console.log(`  note: ${r.note}`);
  goal(
    "verify host / QEMU booting a minimal BIOS",
    r.ratio === null ? "n/a" : `${fmt(r.cpuprofMs)} / ${fmt(r.qemuMs!)} = ${r.ratio.toFixed(2)}`,
    "<= 0.2",
    r.ratio === null ? null : r.ratio <= 0.2,
  );
} catch (e) {
  console.log(`\n(verify vs QEMU skipped: ${(e as Error).message})`);
  goal("verify host / QEMU booting a minimal BIOS", "-", "<= 0.2", null);
}

// ---- the table ----
console.log("\n## goals (issue 15)");
const widths = [
  Math.max(...figures.map((f) => f.measure.length)),
  Math.max(...figures.map((f) => f.figure.length)),
  Math.max(...figures.map((f) => f.goal.length)),
];
for (const f of figures)
  console.log(
    `${f.measure.padEnd(widths[0]!)}  ${f.figure.padEnd(widths[1]!)}  ${f.goal.padEnd(widths[2]!)}  ${f.met === null ? "not measured" : f.met ? "met" : "NOT MET"}`,
  );
const met = figures.filter((f) => f.met === true).length;
console.log(`${met} of ${figures.length} goals met in this run (a shared, noisy machine: times vary from run to run)`);
