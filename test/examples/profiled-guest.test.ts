// examples/profiled-guest.ts does what it says, on the real /dev/kvm: two VMs, the MSRs moved, the guest
// sees the same CPUID and MSR values on both. Skipped with one line where /dev/kvm is absent.
import { describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import { kvmVendorModule } from "../../src/host/kvm-module.ts";
import { kvmSkipReason } from "../kvm/kvm-device.ts";

const ROOT = resolve(import.meta.dir, "../..");
const onDevice = kvmSkipReason ? test.skip : test;

function example(args: string[]) {
  const p = Bun.spawnSync([process.execPath, resolve(ROOT, "examples/profiled-guest.ts"), ...args], {
    cwd: ROOT,
    stdout: "pipe",
    stderr: "pipe",
  });
  return { code: p.exitCode, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
}

describe("examples/profiled-guest.ts", () => {
  // kvm_pvm refuses IA32_ARCH_CAPABILITIES, so there the example needs --report-refused to get past configureVcpu
  const pvm = kvmVendorModule() === "kvm_pvm";

  onDevice(
    "moves a guest to a second VM, which sees the same CPUID and MSRs, including a value the guest wrote",
    () => {
      const r = example(pvm ? ["--report-refused"] : []);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("source VM: profile host");
      expect(r.stdout).toMatch(/saved (\d+) MSRs[\s\S]*restored \1 MSRs/);
      const seen = r.stdout.split("\n").filter((l) => l.startsWith("  CPUID ") || l.startsWith("  RDMSR "));
      expect(seen.filter((l) => l.startsWith("  CPUID "))).toHaveLength(4);
      expect(seen.filter((l) => l.startsWith("  RDMSR ")).length).toBeGreaterThanOrEqual(2);
      for (const l of seen) expect(l).toEndWith("| same");
      // the value the guest wrote on the source (WRMSR IA32_STAR) is what it reads on the destination
      expect(r.stdout).toContain("RDMSR star: 0x23001000000000  | same");
      expect(r.stdout).toContain("the guest sees the same CPU on both VMs");
    },
  );

  onDevice(
    `a refused crucial MSR stops it with the typed error's message${pvm ? " (kvm_pvm refuses IA32_ARCH_CAPABILITIES)" : ""}`,
    () => {
      const r = example([]);
      if (!pvm) return void expect(r.code).toBe(0);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain("stopped: vCPU 0: KVM refused crucial MSR arch_capabilities (0x10a)");
      expect(r.stdout).not.toContain("saved ");
    },
  );
});
