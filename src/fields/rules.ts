// The one reading of the policy's compare rules (subset, superset, le, eq, none): how two values of a
// field compare, what a field's value is under its rule (zeroMeans), and how values combine over hosts.
import { hex64 } from "../model/hex.ts";
import type { Compare } from "../policy/index.ts";
import { fieldValue, type BitRange, type WidthOps } from "./bits.ts";

export type { Compare } from "../policy/index.ts";

/** A field as the rules see it: where it is and how it compares. */
export interface RuledField extends BitRange {
  name: string;
  compare: Compare;
  /** 0 means "the value of these bits of the same register" (AMD's guest_phys_addr_bits). */
  zeroMeans?: BitRange;
}

/** True for the rules that compare a set of feature bits rather than a number. */
export function isFeatureSet(compare: Compare): boolean {
  return compare === "subset" || compare === "superset";
}

/** True for le: a limit (the profile's value at most the host's), checked as a number, not as bits. */
export function isLimit(compare: Compare): boolean {
  return compare === "le";
}

/** True for the rules that compare a number (le, eq) rather than feature bits or nothing. */
export function isNumeric(compare: Compare): boolean {
  return compare === "le" || compare === "eq";
}

/** Whether a field is compared at all: not under none, and a nested-only (VMX/SVM) field only when nested is asked for. */
export function isCompared(field: { compare: Compare; nested?: boolean }, nested: boolean | undefined): boolean {
  return field.compare !== "none" && !(field.nested && !nested);
}

/**
 * Whether a rule applies where the profile hides the register (no adjustment: the guest sees 0): "at most" rules
 * still do, equality does not (0 is not a layout to agree on).
 */
export function appliesToHiddenRegister(compare: Compare): boolean {
  return compare !== "eq";
}

/** True when `a` (the profile, or one host) may run where `b` (the host) is, under `compare`. */
export function compareField(compare: Compare, a: number | bigint, b: number | bigint): boolean {
  if (typeof a === "number" && typeof b === "number" && a >= 0 && b >= 0 && a <= 0xffffffff && b <= 0xffffffff) {
    switch (compare) {
      case "subset":
        return (a & ~b) >>> 0 === 0;
      case "superset":
        return (b & ~a) >>> 0 === 0;
      case "le":
        return a <= b;
      case "eq":
        return a === b;
      case "none":
        return true;
    }
  }
  const x = BigInt(a),
    y = BigInt(b);
  switch (compare) {
    case "subset":
      return (x & ~y) === 0n;
    case "superset":
      return (y & ~x) === 0n;
    case "le":
      return x <= y;
    case "eq":
      return x === y;
    case "none":
      return true;
  }
}

/**
 * The value a compare rule sees for a field of a 32-bit register: its bits, or, for a field where 0 means
 * "the same as" other bits (guest_phys_addr_bits), those bits' value when the field is 0.
 */
export function effectiveValue(field: BitRange & { zeroMeans?: BitRange }, register: number): number {
  const v = fieldValue(field, register >>> 0);
  return v === 0 && field.zeroMeans ? fieldValue(field.zeroMeans, register >>> 0) : v;
}

/**
 * The value one bit of a host takes to make the host strictly less capable under `compare`: a subset (feature)
 * bit it has is cleared, a superset (bad-news) bit it lacks is set; undefined where no change of the bit weakens it.
 */
export function weakeningBit(compare: Compare, has: boolean): { set: boolean } | undefined {
  if (compare === "subset" && has) return { set: false };
  if (compare === "superset" && !has) return { set: true };
  return undefined;
}

/** Why `profileValue` may not run where `hostValue` is, in words, under `compare`. */
export function explainMismatch(compare: Compare, profileValue: bigint, hostValue: bigint): string {
  switch (compare) {
    case "subset":
      return profileValue === 1n && hostValue === 0n
        ? "the profile sets it, the host lacks it"
        : `profile ${hex64(profileValue)} has bits the host (${hex64(hostValue)}) lacks`;
    case "superset":
      return `the host has ${hex64(hostValue & ~profileValue)} that the profile does not declare`;
    case "le":
      return `profile ${hex64(profileValue)} is above the host's ${hex64(hostValue)}`;
    default:
      return `profile ${hex64(profileValue)} differs from the host's ${hex64(hostValue)}`;
  }
}

/**
 * A profile value compiled against the compare rules: bits that fail when the host lacks them (subset),
 * has them (superset) or differs (eq), and le limits; evaluating a host is then a few mask operations.
 */
export interface RuleMasks<T> {
  subset: T;
  superset: T;
  eq: T;
  limits: { lsb: number; mask: T; value: T }[];
}

export function emptyMasks<T>(ops: WidthOps<T>): RuleMasks<T> {
  return { subset: ops.zero, superset: ops.zero, eq: ops.zero, limits: [] };
}

/** Rules with a mask form (bit sets, equality) or a limit form (le): every rule that compares. */
export function hasMaskForm(compare: Compare): boolean {
  return compare !== "none";
}

/** Adds a field's `bits` (its mask within the fixed bits) to `m`; false for a rule with no mask form (none). */
export function addToMasks<T>(m: RuleMasks<T>, f: RuledField, bits: T, value: T, ops: WidthOps<T>): boolean {
  switch (f.compare) {
    case "subset":
      m.subset = ops.or(m.subset, bits);
      return true;
    case "superset":
      m.superset = ops.or(m.superset, bits);
      return true;
    case "eq":
      m.eq = ops.or(m.eq, bits);
      return true;
    case "le": {
      const mask = ops.shiftDown(ops.mask(f.lsb, f.msb), f.lsb);
      m.limits.push({ lsb: f.lsb, mask, value: ops.and(ops.shiftDown(value, f.lsb), mask) });
      return true;
    }
    case "none":
      return false;
  }
}

/**
 * The bits whose fields fail against host value `h` (already limited to the fixed bits), and whether a limit
 * failed. Written out for 64-bit values (the per-host hot path of a fleet check: no calls per operation).
 */
export function failingMasks(m: RuleMasks<bigint>, value: bigint, h: bigint): { bits: bigint; limit: boolean } {
  const bits = (value & ~h & m.subset) | (h & ~value & m.superset) | ((value ^ h) & m.eq);
  let limit = false;
  for (const l of m.limits) if (l.value > ((h >> BigInt(l.lsb)) & l.mask)) limit = true;
  return { bits, limit };
}
