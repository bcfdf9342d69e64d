// The one split of a CPUID register or a feature MSR into named fields: the vendor policy's fields
// (each with its action and compare rule), then every bit no field covers, on its own, by its catalogue
// name (an unknown bit compares as a feature bit: kept only where every side has it).
import { cpuidBitName, cpuidFeatureAt, msrBitName } from "../catalogue/index.ts";
import type { Register } from "../model/cpuid.ts";
import type { Vendor } from "../model/vendor.ts";
import {
  msrFieldsFor,
  policyFor,
  vendorCpuidField,
  vendorCpuidFieldEntries,
  type Action,
  type CpuidField,
  type MsrField,
} from "../policy/index.ts";
import { bitMask32, bitMask64 } from "./bits.ts";
import { memoByKey } from "../model/memo.ts";
import { isFeatureSet, type RuledField } from "./rules.ts";

/** One named piece of a register or MSR. */
export interface Field extends RuledField {
  /** The policy's action; undefined for a bit the policy does not know. */
  action: Action | undefined;
  /** A bit the policy does not know (named by the catalogue, or by its location). */
  unknown: boolean;
  /** The catalogue names it (a feature or a field); false: its name is its location (`0x14.0.ebx[31:9]`). */
  named: boolean;
  /** Feature bits (subset/superset compare, or a single bit): a difference is named bit by bit. */
  bits: boolean;
  /** Reported once elsewhere: AMD's copy in 0x80000001 EDX of a leaf-1 EDX bit. */
  alias: boolean;
  nested: boolean;
  /** The policy's reason, where it gives one. */
  why?: string;
}

/** Names the catalogue does not have are locations, `0x7.0.ebx[16]` or `0x10a[16]`. */
const isLocation = (name: string) => name.startsWith("0x");

function fromPolicy(f: CpuidField | MsrField, alias: boolean): Field {
  const out: Field = {
    lsb: f.lsb,
    msb: f.msb,
    name: f.name,
    compare: f.compare,
    action: f.action,
    unknown: false,
    named: !isLocation(f.name),
    bits: f.lsb === f.msb || isFeatureSet(f.compare),
    alias,
    nested: f.nested === true,
  };
  if ("zeroMeans" in f && f.zeroMeans) out.zeroMeans = f.zeroMeans;
  if (f.why) out.why = f.why;
  return out;
}

function unknownBit(bit: number, name: string, alias: boolean): Field {
  return {
    lsb: bit,
    msb: bit,
    name,
    compare: "subset",
    action: undefined,
    unknown: true,
    named: !isLocation(name),
    bits: true,
    alias,
    nested: false,
  };
}

/**
 * Fields covering every bit, ordered by lsb: policy fields first (a field overlapping an earlier one is
 * left out, so no bit has two fields), then each uncovered bit alone. With `wanted` (32-bit only), only
 * the fields holding one of its bits are made: the rest of the split is never built.
 */
export function cover<F extends { lsb: number; msb: number }>(
  policy: readonly F[],
  width: 32 | 64,
  known: (f: F) => Field,
  unknown: (bit: number) => Field,
  wanted = -1,
): Field[] {
  const claimed = new Array<boolean>(width).fill(false);
  const out: Field[] = [];
  for (const f of policy) {
    if (f.lsb < 0 || f.msb >= width || f.lsb > f.msb) continue;
    let free = true;
    for (let b = f.lsb; b <= f.msb; b++) free &&= !claimed[b];
    if (!free) continue;
    for (let b = f.lsb; b <= f.msb; b++) claimed[b] = true;
    if (wanted === -1 || (wanted & bitMask32(f.lsb, f.msb)) !== 0) out.push(known(f));
  }
  for (let b = 0; b < width; b++)
    if (!claimed[b] && (wanted === -1 || ((wanted >>> b) & 1) === 1)) out.push(unknown(b));
  return out.sort((a, b) => a.lsb - b.lsb);
}

/** Where the catalogue's aliases are (test/catalogue holds it to this): no other register needs a lookup. */
const ALIAS_LEAF = 0x8000_0001;
const ALIAS_REGISTER: Register = "edx";

const isAlias = (leaf: number, subleaf: number, register: Register, bit: number) =>
  leaf === ALIAS_LEAF &&
  register === ALIAS_REGISTER &&
  cpuidFeatureAt(leaf, subleaf, register, bit)?.aliasOfLeaf1Edx === true;

/**
 * The split of one register, or (`wanted` not -1) only its fields holding a bit of `wanted`. The cover is worked
 * out on where the policy's fields are (their bits), so only the fields kept are parsed from the table.
 */
function coverRegister(vendor: Vendor, l: number, s: number, register: Register, wanted: number): Field[] {
  return cover(
    vendorCpuidFieldEntries(vendor, l, s, register),
    32,
    (entry) => {
      const f = vendorCpuidField(vendor, entry);
      return fromPolicy(f, f.lsb === f.msb && isAlias(l, s, register, f.lsb));
    },
    (bit) => unknownBit(bit, cpuidBitName(l, s, register, bit), isAlias(l, s, register, bit)),
    wanted,
  );
}

const registerSplit = memoByKey((key) => {
  const [vendor, leaf, subleaf, register] = key.split(":") as [Vendor, string, string, Register];
  return coverRegister(vendor, Number(leaf), Number(subleaf), register, -1);
});

/** The named fields of one CPUID register (every bit covered once), by ascending lsb. */
export function splitRegister(vendor: Vendor, leaf: number, subleaf: number, register: Register): readonly Field[] {
  return registerSplit(`${vendor}:${leaf >>> 0}:${subleaf >>> 0}:${register}`);
}

/**
 * The fields of splitRegister that hold a bit of `bits` (not 0), the same fields in the same order, built without
 * the rest of the split: a cold verify splits only the bits a guest saw differ, once each.
 */
export function splitRegisterBits(
  vendor: Vendor,
  leaf: number,
  subleaf: number,
  register: Register,
  bits: number,
): Field[] {
  return coverRegister(vendor, leaf >>> 0, subleaf >>> 0, register, bits | 0);
}

const msrSplit = memoByKey((key) => {
  const [vendor, index] = key.split(":") as [Vendor, string];
  const i = Number(index);
  return cover(
    msrFieldsFor(policyFor(vendor), i),
    64,
    (f) => fromPolicy(f, false),
    (bit) => unknownBit(bit, msrBitName(i, bit), false),
  );
});

/** The named fields of one feature MSR (every bit covered once), by ascending lsb. */
export function splitMsr(vendor: Vendor, index: number): readonly Field[] {
  return msrSplit(`${vendor}:${index >>> 0}`);
}

/** The bits of a CPUID register the policy has no field for (each an `unknown` field of the split). */
export function unknownBits32(vendor: Vendor, leaf: number, subleaf: number, register: Register): number {
  let m = 0;
  for (const f of splitRegister(vendor, leaf, subleaf, register)) if (f.unknown) m |= fieldMask32(f);
  return m >>> 0;
}

/** The bits of a feature MSR the policy has no field for. */
export function unknownBits64(vendor: Vendor, index: number): bigint {
  let m = 0n;
  for (const f of splitMsr(vendor, index)) if (f.unknown) m |= fieldMask64(f);
  return m;
}

export function fieldMask32(f: { lsb: number; msb: number }): number {
  return bitMask32(f.lsb, f.msb);
}

export function fieldMask64(f: { lsb: number; msb: number }): bigint {
  return bitMask64(f.lsb, f.msb);
}
