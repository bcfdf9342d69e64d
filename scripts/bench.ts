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

export { fixtures, fmt, line, median, timeInProcess, timeProcess, exe, root, hasKvm, mkdtempSync, rmSync, writeFileSync, tmpdir, join };
