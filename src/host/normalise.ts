// Pure clean-up of a live KVM_GET_SUPPORTED_CPUID table so two captures of one host are identical.
import type { CpuidEntry, Register } from "../model/cpuid.ts";

/**
 * Fields that hold the APIC id of whichever host CPU happened to run the ioctl (kvm-x86.md sections 1
 * and 6): leaf 1 EBX[31:24] and the x2APIC id in 0xB/0x1F EDX. They describe the scheduler, not the
 * host, so a capture records them as 0 (a VMM sets them per vCPU anyway).
 */
export const PER_CPU_FIELDS: readonly { function: number; register: Register; mask: number }[] = [
  { function: 0x1, register: "ebx", mask: 0xff000000 },
  { function: 0xb, register: "edx", mask: 0xffffffff },
  { function: 0x1f, register: "edx", mask: 0xffffffff },
];

export function clearPerCpuFields(cpuid: readonly CpuidEntry[]): CpuidEntry[] {
  return cpuid.map((e) => {
    let out = e;
    for (const f of PER_CPU_FIELDS) {
      if (f.function === e.function) out = { ...out, [f.register]: (out[f.register] & ~f.mask) >>> 0 };
    }
    return out;
  });
}

/** The "microcode" line of /proc/cpuinfo as canonical lower-case hex; null when absent or not hex. */
export function microcodeFromCpuinfo(text: string): string | null {
  const m = /^microcode\s*:\s*(0[xX][0-9a-fA-F]+|[0-9a-fA-F]+)\s*$/m.exec(text);
  if (!m || m[1] === undefined) return null;
  const digits = m[1].replace(/^0[xX]/, "");
  return `0x${BigInt(`0x${digits}`).toString(16)}`;
}
