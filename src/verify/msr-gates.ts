// The one table of MSRs whose guest access KVM gates on a guest CPUID bit (guest_cpu_cap_has checks in
// x86.c, vmx.c, svm.c): without any of the listed bits, a guest RDMSR takes #GP whatever the filter says.
// Names come from the catalogue.
import { cpuidBitName } from "../catalogue/index.ts";
import type { CpuidEntry, Register } from "../model/cpuid.ts";
import { findCpuid } from "../model/cpuid.ts";

export interface CpuidBit {
  leaf: number;
  subleaf: number;
  register: Register;
  bit: number;
}

export interface MsrGate {
  index: number;
  /** Any one of these bits opens the MSR. */
  anyOf: readonly CpuidBit[];
}

export const MSR_CPUID_GATES: readonly MsrGate[] = [
  { index: 0x10a, anyOf: [{ leaf: 0x7, subleaf: 0, register: "edx", bit: 29 }] },
  { index: 0x345, anyOf: [{ leaf: 0x1, subleaf: 0, register: "ecx", bit: 15 }] },
  { index: 0x3b, anyOf: [{ leaf: 0x7, subleaf: 0, register: "ebx", bit: 1 }] },
  {
    index: 0x48,
    anyOf: [
      { leaf: 0x7, subleaf: 0, register: "edx", bit: 26 },
      { leaf: 0x80000008, subleaf: 0, register: "ebx", bit: 14 },
      { leaf: 0x80000008, subleaf: 0, register: "ebx", bit: 15 },
      { leaf: 0x80000008, subleaf: 0, register: "ebx", bit: 24 },
    ],
  },
  { index: 0xc001011f, anyOf: [{ leaf: 0x80000008, subleaf: 0, register: "ebx", bit: 25 }] },
];

export function gateOf(msr: number): MsrGate | undefined {
  return MSR_CPUID_GATES.find((g) => g.index === msr >>> 0);
}

export function gateBitNames(gate: MsrGate): string {
  return gate.anyOf.map((b) => cpuidBitName(b.leaf, b.subleaf, b.register, b.bit)).join(" or ");
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
