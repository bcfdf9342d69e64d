// verify vs QEMU: the whole-process time of `cpuprof verify <profile>` (compatibility plus the
// guest check on /dev/kvm) against QEMU booting a minimal guest that runs one CPUID under the
// equivalent -cpu model and exits through isa-debug-exit. Prints nothing: scripts/bench.ts
// calls benchQemuVsCpuprof() and formats the figures. Goal (issue 15): cpuprof <= 0.2 x QEMU.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export interface BenchQemuOptions {
  /** dist/cpuprof. */
  exe?: string;
  /** Runs per median (default 10). */
  runs?: number;
  /** Profile to verify (default `host`, which runs the guest check on this machine). */
  profile?: string;
  /** QEMU -cpu model (default `host` under KVM, `max` under TCG, the equivalents of the host profile). */
  model?: string;
}

export interface BenchQemuResult {
  cpuprofMs: number;
  qemuMs: number | null;
  ratio: number | null;
  note: string;
}

/** The value the guest writes to isa-debug-exit: the low byte of CPUID.0 EBX ('G' or 'A'), proof that CPUID ran. */
const VENDOR_FIRST_BYTE: Record<string, number> = { GenuineIntel: 0x47, AuthenticAMD: 0x41 };
const DEBUG_EXIT_PORT = 0xf4;

/**
 * A 64 KiB flat BIOS image (mapped at 0xF0000 and below 4 GiB). The reset vector at 0xFFFF0
 * (offset 0xFFF0) jumps to offset 0, which runs, in real mode:
 *   xor eax, eax; cpuid; mov al, bl; out 0xf4, al; cli; hlt; jmp $-1
 * so QEMU exits with status ((ebx & 0xff) << 1) | 1.
 */
export function minimalCpuidBios(): Uint8Array {
  const image = new Uint8Array(0x10000).fill(0xf4); // hlt everywhere else
  const code = [
    0x66,
    0x31,
    0xc0, // xor eax, eax
    0x0f,
    0xa2, // cpuid
    0x88,
    0xd8, // mov al, bl
    0xe6,
    DEBUG_EXIT_PORT, // out 0xf4, al
    0xfa, // cli
    0xf4, // hlt
    0xeb,
    0xfd, // jmp back to hlt
  ];
  image.set(code, 0);
  // At 0xFFF0: jmp near rel16 to offset 0 (IP after the jump is 0xFFF3; 0x0000 - 0xFFF3 = 0x000D mod 2^16).
  image.set([0xe9, 0x0d, 0x00], 0xfff0);
  return image;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

interface Run {
  ms: number;
  code: number | null;
  stderr: string;
}

function run(argv: string[], timeoutMs: number): Run {
  const t0 = performance.now();
  const p = Bun.spawnSync(argv, { stdout: "ignore", stderr: "pipe", timeout: timeoutMs, killSignal: "SIGKILL" });
  const ms = performance.now() - t0;
  return { ms, code: p.exitCode, stderr: p.stderr.toString() };
}

function hostVendor(): string | null {
  try {
    const m = /vendor_id\s*:\s*(\S+)/.exec(readFileSync("/proc/cpuinfo", "utf8"));
    return m ? m[1]! : null;
  } catch {
    return null;
  }
}

export async function benchQemuVsCpuprof(opts: BenchQemuOptions = {}): Promise<BenchQemuResult> {
  const exe = opts.exe ?? resolve(import.meta.dir, "../dist/cpuprof");
  const runs = Math.max(1, opts.runs ?? 10);
  const profile = opts.profile ?? "host";
  const notes: string[] = [];

  // cpuprof: exit 0 (passed) or 1 (differences, e.g. kvm_pvm rewriting CPUID) both count, but the
  // guest check must have run: check that once with --json before timing the plain command.
  const check = Bun.spawnSync([exe, "verify", profile, "--json"], { stdout: "pipe", stderr: "pipe", timeout: 30_000 });
  if (check.exitCode !== 0 && check.exitCode !== 1)
    throw new Error(
      `cpuprof verify ${profile} exited ${check.exitCode}: ${check.stderr.toString().trim().split("\n")[0]}`,
    );
  const report = JSON.parse(check.stdout.toString()) as {
    kvmModule?: string;
    results: { guest?: { cpuidProbes?: number } }[];
  };
  const probes = report.results[0]?.guest?.cpuidProbes ?? 0;
  if (probes <= 0) throw new Error(`cpuprof verify ${profile} did not run the guest check (no /dev/kvm?)`);
  notes.push(
    `cpuprof verify ${profile}: guest check ran (${probes} CPUID probes), exit ${check.exitCode}${report.kvmModule ? ` on ${report.kvmModule}` : ""}`,
  );
  const cpuprofTimes: number[] = [];
  const timeCpuprof = () => {
    const r = run([exe, "verify", profile], 30_000);
    if (r.code !== 0 && r.code !== 1) throw new Error(`cpuprof verify ${profile} exited ${r.code}`);
    cpuprofTimes.push(r.ms);
  };

  /** Without a QEMU to compare with: cpuprof's figure alone, and why. */
  const cpuprofOnly = (why: string): BenchQemuResult => {
    for (let i = 0; i < runs; i++) timeCpuprof();
    return { cpuprofMs: median(cpuprofTimes), qemuMs: null, ratio: null, note: [...notes, why].join("; ") };
  };

  const qemu = Bun.which("qemu-system-x86_64");
  if (!qemu) return cpuprofOnly("qemu-system-x86_64 is not installed");

  const dir = mkdtempSync(join(tmpdir(), "cpuprof-bench-qemu-"));
  try {
    const bios = join(dir, "cpuid.bin");
    writeFileSync(bios, minimalCpuidBios());
    const argv = (accel: string, model: string) => [
      qemu,
      "-machine",
      "pc",
      "-accel",
      accel,
      "-cpu",
      model,
      "-bios",
      bios,
      "-display",
      "none",
      "-nodefaults",
      "-device",
      `isa-debug-exit,iobase=0x${DEBUG_EXIT_PORT.toString(16)},iosize=0x04`,
      "-no-reboot",
      "-m",
      "16",
    ];
    const vendor = hostVendor();
    const expectedFor = (model: string) => {
      const v = /^(host|max)(,|$)/.test(model) ? vendor : null;
      const b = v ? VENDOR_FIRST_BYTE[v] : undefined;
      return b === undefined ? null : ((b << 1) | 1) & 0xff;
    };
    const exitsViaDebugPort = (r: Run, model: string) => {
      const want = expectedFor(model);
      return want === null ? r.code !== null && r.code !== 0 && (r.code & 1) === 1 : r.code === want;
    };

    let accel = "kvm";
    let model = opts.model ?? "host";
    let probe = run(argv(accel, model), 20_000);
    if (!exitsViaDebugPort(probe, model) && model === "host" && /MSR 0x10a/i.test(probe.stderr)) {
      // kvm_pvm drops ARCH_CAPABILITIES from the guest CPUID, so QEMU's KVM_SET_MSRS of 0x10a fails and it aborts.
      notes.push(
        `QEMU -accel kvm -cpu host aborted (${probe.stderr.trim().split("\n")[0]}); measured -cpu host,-arch-capabilities`,
      );
      model = "host,-arch-capabilities";
      probe = run(argv(accel, model), 20_000);
    }
    if (!exitsViaDebugPort(probe, model)) {
      notes.push(
        `QEMU -accel kvm -cpu ${model} did not exit via isa-debug-exit (exit ${probe.code}${probe.stderr.trim() ? `: ${probe.stderr.trim().split("\n")[0]}` : ""}); measured TCG`,
      );
      accel = "tcg";
      model = opts.model ?? "max";
      probe = run(argv(accel, model), 20_000);
      if (!exitsViaDebugPort(probe, model))
        return cpuprofOnly(`QEMU -accel tcg -cpu ${model} did not exit via isa-debug-exit either (exit ${probe.code})`);
    }
    notes.push(
      `QEMU -machine pc -accel ${accel} -cpu ${model}: guest ran CPUID and exited via isa-debug-exit (status ${probe.code})`,
    );
    // Alternate the two, so a change in the machine's load during the benchmark weighs on both alike.
    const qemuTimes: number[] = [];
    for (let i = 0; i < runs; i++) {
      timeCpuprof();
      const r = run(argv(accel, model), 20_000);
      if (!exitsViaDebugPort(r, model)) throw new Error(`QEMU run ${i + 1} exited ${r.code}, not via isa-debug-exit`);
      qemuTimes.push(r.ms);
    }
    const cpuprofMs = median(cpuprofTimes);
    const qemuMs = median(qemuTimes);
    return { cpuprofMs, qemuMs, ratio: cpuprofMs / qemuMs, note: notes.join("; ") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
