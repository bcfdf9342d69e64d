// Names for what verify reports, from the feature catalogue (the one table of names):
// Linux feature names for single bits, catalogued field names for multi-bit fields, bit ranges otherwise.
import { cpuidBitsName as catalogueBitsName, cpuidFeatureAt, cpuidFieldAt, msrName } from "../catalogue/index.ts";
import type { Register } from "../model/cpuid.ts";

/** True for a bit the catalogue names as a single-bit feature. */
export function isNamedFeatureBit(leaf: number, subleaf: number, register: Register, bit: number): boolean {
  return cpuidFeatureAt(leaf >>> 0, subleaf >>> 0, register, bit) !== undefined;
}

/** The catalogued multi-bit field holding `bit`, if any. */
export function fieldAt(leaf: number, subleaf: number, register: Register, bit: number): { lsb: number; msb: number; name: string } | undefined {
  return cpuidFieldAt(leaf >>> 0, subleaf >>> 0, register, bit);
}

/** `avx512f`, a field name such as `family`, or the location `0x7.0.ebx[16]` / `0x1.0.eax[5:4]`. */
export function cpuidBitsName(leaf: number, subleaf: number, register: Register, lsb: number, msb: number): string {
  return catalogueBitsName(leaf >>> 0, subleaf >>> 0, register, lsb, msb);
}

export function msrNameOf(index: number): string {
  return msrName(index >>> 0);
}
