// Names for what verify reports: Linux feature names for CPUID bits, MSR names, bit ranges for unnamed fields.
// Bridges to the feature catalogue; the catalogue is the one table of names.
import { CPUID_FEATURES } from "../catalogue/cpuid-features.ts";
import type { Register } from "../model/cpuid.ts";
import { hex32 } from "../model/hex.ts";

const FEATURE_BY_BIT = new Map<string, string>();
for (const f of CPUID_FEATURES) FEATURE_BY_BIT.set(bitKey(f.leaf, f.subleaf, f.register, f.bit), f.linux);

function bitKey(leaf: number, subleaf: number | null, register: Register, bit: number): string {
  return `${leaf >>> 0}/${subleaf ?? "*"}/${register}/${bit}`;
}

/** The catalogue's name for a single-bit feature, or undefined where the catalogue has none. */
export function featureNameOf(leaf: number, subleaf: number, register: Register, bit: number): string | undefined {
  return FEATURE_BY_BIT.get(bitKey(leaf, subleaf, register, bit)) ?? FEATURE_BY_BIT.get(bitKey(leaf, null, register, bit));
}

/** `0x7.0.ebx[16]`: where a bit or bit range lives, for bits without a feature name. */
export function bitsLabel(leaf: number, subleaf: number, register: Register, lsb: number, msb: number): string {
  const bits = lsb === msb ? `${lsb}` : `${msb}:${lsb}`;
  return `${hex32(leaf)}.${subleaf >>> 0}.${register}[${bits}]`;
}

export function cpuidBitsName(leaf: number, subleaf: number, register: Register, lsb: number, msb: number): string {
  return (lsb === msb ? featureNameOf(leaf, subleaf, register, lsb) : undefined) ?? bitsLabel(leaf, subleaf, register, lsb, msb);
}

/** Names of the MSRs verify talks about most; others print as hex. */
export function msrNameOf(index: number): string {
  return hex32(index);
}
