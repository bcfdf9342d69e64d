// Per-register combination rules for a baseline (the compare rules read as a meet over hosts), precomputed
// once per register so that folding a thousand hosts is a few integer operations per register, no per-bit work.
import { OPS32, OPS64, type WidthOps } from "./bits.ts";
import type { Register } from "../model/cpuid.ts";
import type { Vendor } from "../model/vendor.ts";
import { memoByKey } from "../model/memo.ts";
import type { RuledField } from "./rules.ts";
import { splitMsr, splitRegister } from "./split.ts";

/** A multi-bit numeric field: bits lsb..msb, `width` its unshifted mask. */
export interface NumericSlot<T> {
  name: string;
  lsb: number;
  width: T;
  /** A 0 in this field means the value of these bits (guest_phys_addr_bits): the fold takes the minimum effective value. */
  zeroMeans?: { lsb: number; width: T };
}

/** How the bits of one register (or one MSR) combine over hosts. */
export interface CombineRule<T> {
  /** subset fields, and bits no field names (unknown bits are kept only where every host has them): AND. */
  andMask: T;
  /** superset fields (bad-news bits, inverted PMU availability): OR. */
  orMask: T;
  /** none fields (identity, topology): taken from one representative host. */
  keepMask: T;
  /** le fields: the minimum over hosts. */
  le: NumericSlot<T>[];
  /** eq fields: every host must agree. */
  eq: NumericSlot<T>[];
}

/** Builds the rule; a bit claimed by two fields follows the first, so masks never overlap. */
function buildRule<T>(fields: readonly RuledField[], ops: WidthOps<T>): CombineRule<T> {
  let claimed = ops.zero;
  const rule: CombineRule<T> = { andMask: ops.zero, orMask: ops.zero, keepMask: ops.zero, le: [], eq: [] };
  for (const f of fields) {
    const bits = ops.and(ops.mask(f.lsb, f.msb), ops.not(claimed));
    if (ops.isZero(bits)) continue;
    claimed = ops.or(claimed, bits);
    const slot: NumericSlot<T> = { name: f.name, lsb: f.lsb, width: ops.shiftDown(bits, f.lsb) };
    if (f.zeroMeans)
      slot.zeroMeans = {
        lsb: f.zeroMeans.lsb,
        width: ops.shiftDown(ops.mask(f.zeroMeans.lsb, f.zeroMeans.msb), f.zeroMeans.lsb),
      };
    switch (f.compare) {
      case "subset":
        rule.andMask = ops.or(rule.andMask, bits);
        break;
      case "superset":
        rule.orMask = ops.or(rule.orMask, bits);
        break;
      case "none":
        rule.keepMask = ops.or(rule.keepMask, bits);
        break;
      case "le":
        rule.le.push(slot);
        break;
      case "eq":
        rule.eq.push(slot);
        break;
    }
  }
  rule.andMask = ops.or(rule.andMask, ops.and(ops.all, ops.not(claimed)));
  return rule;
}

export function cpuidRule(fields: readonly RuledField[]): CombineRule<number> {
  return buildRule(fields, OPS32);
}

const ALL64 = OPS64.all;

export function msrRule(fields: readonly RuledField[]): CombineRule<bigint> {
  return buildRule(fields, OPS64);
}

const registerRules = memoByKey((key) => {
  const [vendor, leaf, subleaf, register] = key.split(":") as [Vendor, string, string, Register];
  return cpuidRule(splitRegister(vendor, Number(leaf), Number(subleaf), register));
});

/** The combination rule of one CPUID register under the vendor's policy (computed once). */
export function registerRule(vendor: Vendor, leaf: number, subleaf: number, register: Register): CombineRule<number> {
  return registerRules(`${vendor}:${leaf >>> 0}:${subleaf >>> 0}:${register}`);
}

const featureMsrRules = memoByKey((key) => {
  const [vendor, index] = key.split(":") as [Vendor, string];
  return msrRule(splitMsr(vendor, Number(index)));
});

/** The combination rule of one feature MSR under the vendor's policy (computed once). */
export function featureMsrRule(vendor: Vendor, index: number): CombineRule<bigint> {
  return featureMsrRules(`${vendor}:${index >>> 0}`);
}

/** An eq field on which the hosts do not agree: the distinct values with the positions of the hosts holding each. */
export interface Disagreement<T> {
  name: string;
  values: { value: T; hosts: number[] }[];
}

function disagreement<T>(slot: NumericSlot<T>, fieldOf: (i: number) => T, count: number): Disagreement<T> {
  const byValue = new Map<T, number[]>();
  for (let i = 0; i < count; i++) {
    const v = fieldOf(i);
    const list = byValue.get(v);
    if (list) list.push(i);
    else byValue.set(v, [i]);
  }
  const values = [...byValue].map(([value, hosts]) => ({ value, hosts })).sort((a, b) => (a.value < b.value ? -1 : 1));
  return { name: slot.name, values };
}

/** The meet of 32-bit register values under `rule`; `rep` is the representative host's position. */
export function foldRegister(
  rule: CombineRule<number>,
  values: readonly number[],
  rep: number,
): number | Disagreement<number> {
  let and = 0xffffffff,
    or = 0;
  for (const v of values) {
    and &= v;
    or |= v;
  }
  let out = ((and & rule.andMask) | (or & rule.orMask) | (values[rep]! & rule.keepMask)) >>> 0;
  for (const slot of rule.le) {
    let min = slot.width;
    let allZero = true;
    const zm = slot.zeroMeans;
    for (const v of values) {
      const f = (v >>> slot.lsb) & slot.width;
      allZero &&= f === 0;
      min = Math.min(min, f === 0 && zm ? (v >>> zm.lsb) & zm.width : f);
    }
    // where every host says "same as", so does the baseline (its partner field is already the minimum)
    if (!(zm && allZero)) out = (out | (min << slot.lsb)) >>> 0;
  }
  for (const slot of rule.eq) {
    const fieldOf = (i: number) => ((values[i]! >>> slot.lsb) & slot.width) >>> 0;
    const first = fieldOf(0);
    for (let i = 1; i < values.length; i++) if (fieldOf(i) !== first) return disagreement(slot, fieldOf, values.length);
    out = (out | (first << slot.lsb)) >>> 0;
  }
  return out;
}

/** The meet of 64-bit MSR values under `rule`. */
export function foldMsr(
  rule: CombineRule<bigint>,
  values: readonly bigint[],
  rep: number,
): bigint | Disagreement<bigint> {
  let and = ALL64,
    or = 0n;
  for (const v of values) {
    and &= v;
    or |= v;
  }
  let out = (and & rule.andMask) | (or & rule.orMask) | (values[rep]! & rule.keepMask);
  for (const slot of rule.le) {
    const shift = BigInt(slot.lsb);
    let min = slot.width;
    for (const v of values) {
      const f = (v >> shift) & slot.width;
      if (f < min) min = f;
    }
    out |= min << shift;
  }
  for (const slot of rule.eq) {
    const shift = BigInt(slot.lsb);
    const fieldOf = (i: number) => (values[i]! >> shift) & slot.width;
    const first = fieldOf(0);
    for (let i = 1; i < values.length; i++) if (fieldOf(i) !== first) return disagreement(slot, fieldOf, values.length);
    out |= first << shift;
  }
  return out;
}
