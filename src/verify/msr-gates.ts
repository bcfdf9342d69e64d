// The one table of MSRs whose guest access KVM gates on vCPU state rather than the filter: a guest CPUID bit
// (guest_cpu_cap_has checks in x86.c, vmx.c, svm.c), or setup a VMM may do that the probe VM never does.
// Without any of the listed bits, a guest RDMSR takes #GP whatever the filter says. Names come from the catalogue.
import { cpuidBitName } from "../catalogue/index.ts";
import { cpuidBitIn, type CpuidBitLocation, type CpuidEntry } from "../model/cpuid.ts";

export type CpuidBit = CpuidBitLocation;

export interface MsrGate {
  index: number;
  /** Any one of these bits opens the MSR; empty: no CPUID bit does (see why). */
  anyOf: readonly CpuidBit[];
  why?: string;
}

export const MSR_CPUID_GATES: readonly MsrGate[] = [
  { index: 0x10a, anyOf: [{ leaf: 0x7, subleaf: 0, register: "edx", bit: 29 }] },
  { index: 0x345, anyOf: [{ leaf: 0x1, subleaf: 0, register: "ecx", bit: 15 }] },
  {
    index: 0x48,
    anyOf: [
      { leaf: 0x7, subleaf: 0, register: "edx", bit: 26 },
      { leaf: 0x80000008, subleaf: 0, register: "ebx", bit: 14 },
      { leaf: 0x80000008, subleaf: 0, register: "ebx", bit: 15 },
      { leaf: 0x80000008, subleaf: 0, register: "ebx", bit: 24 },
    ],
  },
  {
    index: 0x17b,
    anyOf: [],
    why: "IA32_MCG_CTL needs MCG_CAP.MCG_CTL_P, set only by KVM_X86_SETUP_MCE, which the probe VM does not call",
  },
  { index: 0xc001011f, anyOf: [{ leaf: 0x80000008, subleaf: 0, register: "ebx", bit: 25 }] },
];

/** First gate per index, as a scan would find it. */
const GATE_BY_INDEX: ReadonlyMap<number, MsrGate> = new Map(
  [...MSR_CPUID_GATES].reverse().map((g) => [g.index >>> 0, g]),
);

/** The gate of an MSR (verify asks for each of some 200 probed MSRs, several times): a map lookup, not a scan. */
export function gateOf(msr: number): MsrGate | undefined {
  return GATE_BY_INDEX.get(msr >>> 0);
}

export function gateBitNames(gate: MsrGate): string {
  if (gate.anyOf.length === 0) return gate.why ?? "vCPU setup the probe does not do";
  return gate.anyOf.map((b) => cpuidBitName(b.leaf, b.subleaf, b.register, b.bit)).join(" or ");
}

export const cpuidBitSet = cpuidBitIn;

/** True when `table` lets a guest reach `msr` (always, for MSRs without a gate). */
export function msrGateOpen(table: readonly CpuidEntry[], msr: number): boolean {
  const gate = gateOf(msr);
  if (gate === undefined) return true;
  for (const b of gate.anyOf) if (cpuidBitSet(table, b)) return true;
  return false;
}
