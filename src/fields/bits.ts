// Bit fields of register and MSR values: one implementation for 32-bit numbers and 64-bit bigints.

/** A bit range, lsb..msb inclusive. */
export interface BitRange {
  lsb: number;
  msb: number;
}

/** Bits lsb..msb (inclusive) set, as a 32-bit number. */
export function bitMask32(lsb: number, msb: number): number {
  const width = msb - lsb + 1;
  // int32 shifts only (this is on the hot path of fleet checks); (1 << 31) - 1 wraps to 0x7fffffff as ToInt32 reads it
  return width >= 32 ? 0xffffffff : (((1 << width) - 1) << lsb) >>> 0;
}

/** Bits lsb..msb (inclusive) set, as a 64-bit bigint. */
export function bitMask64(lsb: number, msb: number): bigint {
  return ((1n << BigInt(msb - lsb + 1)) - 1n) << BigInt(lsb);
}

/** The value of bits lsb..msb of `value`, shifted down (number in, number out; bigint in, bigint out). */
export function fieldValue(field: BitRange, value: number): number;
export function fieldValue(field: BitRange, value: bigint): bigint;
export function fieldValue(field: BitRange, value: number | bigint): number | bigint;
export function fieldValue(field: BitRange, value: number | bigint): number | bigint {
  // A 32-bit register value as a number stays in number arithmetic (the hot path of every CPUID check).
  if (typeof value === "number" && field.msb < 32 && value >= 0 && value <= 0xffffffff) {
    const width = field.msb - field.lsb + 1;
    return width === 32 ? value : (value >>> field.lsb) & ((1 << width) - 1);
  }
  const v = (BigInt(value) & bitMask64(field.lsb, field.msb)) >> BigInt(field.lsb);
  return typeof value === "number" ? Number(v) : v;
}

/** `value` placed in bits lsb..msb (shifted up, cut to the field's width): fieldValue's inverse, for either width. */
export function placeValue(field: BitRange, value: number): number;
export function placeValue(field: BitRange, value: bigint): bigint;
export function placeValue(field: BitRange, value: number | bigint): number | bigint {
  if (typeof value === "number" && field.msb < 32)
    return ((value * 2 ** field.lsb) & bitMask32(field.lsb, field.msb)) >>> 0;
  const v = (BigInt(value) << BigInt(field.lsb)) & bitMask64(field.lsb, field.msb);
  return typeof value === "number" ? Number(v) : v;
}

/** True when bit `bit` of `value` is set, for either width. */
export function bitSet(value: number | bigint, bit: number): boolean {
  return typeof value === "number" && bit < 32
    ? ((value >>> bit) & 1) === 1
    : ((BigInt(value) >> BigInt(bit)) & 1n) === 1n;
}

/** The lowest set bit of a non-zero value; -1 for 0. */
export function lowestBit(value: number | bigint): number {
  const v = BigInt.asUintN(64, BigInt(value));
  if (v === 0n) return -1;
  let n = 0;
  while (((v >> BigInt(n)) & 1n) === 0n) n++;
  return n;
}

/** The highest set bit of a non-zero value; -1 for 0. */
export function highestBit(value: number | bigint): number {
  const v = BigInt.asUintN(64, BigInt(value));
  return v === 0n ? -1 : v.toString(2).length - 1;
}

/** `base[7]` for one bit, `base[15:8]` for a range. */
export function bitsWhere(base: string, lsb: number, msb: number): string {
  return lsb === msb ? `${base}[${lsb}]` : `${base}[${msb}:${lsb}]`;
}

/** Integer operations of one width, so that mask-building code is written once for numbers and bigints. */
export interface WidthOps<T> {
  width: 32 | 64;
  zero: T;
  all: T;
  mask: (lsb: number, msb: number) => T;
  and: (a: T, b: T) => T;
  or: (a: T, b: T) => T;
  not: (a: T) => T;
  shiftDown: (a: T, lsb: number) => T;
  shiftUp: (a: T, lsb: number) => T;
  /** A small non-negative number as this width's value. */
  of: (n: number) => T;
  isZero: (a: T) => boolean;
}

export const OPS32: WidthOps<number> = {
  width: 32,
  zero: 0,
  all: 0xffffffff,
  mask: bitMask32,
  and: (a, b) => (a & b) >>> 0,
  or: (a, b) => (a | b) >>> 0,
  not: (a) => ~a >>> 0,
  shiftDown: (a, lsb) => a >>> lsb,
  shiftUp: (a, lsb) => (a * 2 ** lsb) >>> 0,
  of: (n) => n >>> 0,
  isZero: (a) => a === 0,
};

const ALL64 = 0xffff_ffff_ffff_ffffn;

export const OPS64: WidthOps<bigint> = {
  width: 64,
  zero: 0n,
  all: ALL64,
  mask: bitMask64,
  and: (a, b) => a & b,
  or: (a, b) => a | b,
  not: (a) => ~a & ALL64,
  shiftDown: (a, lsb) => a >> BigInt(lsb),
  shiftUp: (a, lsb) => (a << BigInt(lsb)) & ALL64,
  of: (n) => BigInt(n),
  isZero: (a) => a === 0n,
};
