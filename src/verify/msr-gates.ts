// The one table of MSRs whose guest access KVM gates on a guest CPUID bit (guest_cpu_cap_has checks in
// x86.c, vmx.c, svm.c): without any of the listed bits, a guest RDMSR takes #GP whatever the filter says.
import { type CpuidEntry, type Register } from "../model/cpuid.ts";
import { findCpuid } from "../model/cpuid.ts";

export interface CpuidBit {
  leaf: number;
  subleaf: number;
  register: Register;
  bit: number;
  name: string;
}

export interface MsrGate {
  index: number;
  name: string;
  /** Any one of these bits opens the MSR. */
  anyOf: readonly CpuidBit[];
}

export const MSR_CPUID_GATES: readonly MsrGate[] = [
  { index: 0x10a, name: "IA32_ARCH_CAPABILITIES", anyOf: [{ leaf: 0x7, subleaf: 0, register: "edx", bit: 29, name: "arch_capabilities" }] },
  { index: 0x345, name: "IA32_PERF_CAPABILITIES", anyOf: [{ leaf: 0x1, subleaf: 0, register: "ecx", bit: 15, name: "pdcm" }] },
  { index: 0x3b, name: "IA32_TSC_ADJUST", anyOf: [{ leaf: 0x7, subleaf: 0, register: "ebx", bit: 1, name: "tsc_adjust" }] },
  {
    index: 0x48,
    name: "IA32_SPEC_CTRL",
    anyOf: [
      { leaf: 0x7, subleaf: 0, register: "edx", bit: 26, name: "spec_ctrl" },
      { leaf: 0x80000008, subleaf: 0, register: "ebx", bit: 14, name: "amd_ibrs" },
      { leaf: 0x80000008, subleaf: 0, register: "ebx", bit: 15, name: "amd_stibp" },
      { leaf: 0x80000008, subleaf: 0, register: "ebx", bit: 24, name: "amd_ssbd" },
    ],
  },
  { index: 0xc001011f, name: "MSR_AMD64_VIRT_SPEC_CTRL", anyOf: [{ leaf: 0x80000008, subleaf: 0, register: "ebx", bit: 25, name: "virt_ssbd" }] },
];

export function gateOf(msr: number): MsrGate | undefined {
  return MSR_CPUID_GATES.find((g) => g.index === msr >>> 0);
}

export function cpuidBitSet(table: readonly CpuidEntry[], b: CpuidBit): boolean {
  const e = findCpuid(table, b.leaf, b.subleaf);
  return e !== undefined && ((e[b.register] >>> b.bit) & 1) === 1;
}

/** True when `table` lets a guest reach `msr` (always, for MSRs without a gate). */
export function msrGateOpen(table: readonly CpuidEntry[], msr: number): boolean {
  const gate = gateOf(msr);
  return gate === undefined || gate.anyOf.some((b) => cpuidBitSet(table, b));
}
