// Row builders for the policy tables: each table reads as data (bit, name, rule, why),
// these helpers only fill in the leaf/register/MSR that every row of a block shares.
import { sourceCatalogue } from "../catalogue/source.ts";
import type { Register } from "../model/cpuid.ts";
import type { Action, Compare, CpuidField, FieldRule, MsrField, MsrRule, SubleafRange } from "./types.ts";

/** Every subleaf: the rule does not depend on ECX (non-indexed leaves, or the same rule for all). */
export const ALL_SUBLEAVES: SubleafRange = { start: 0, end: 0xffffffff };

export const INHERIT: Action = { kind: "inherit" };
export const PASSTHROUGH: Action = { kind: "passthrough" };
export const HIDE: Action = { kind: "static", value: 0 };
export const FORCE_ON: Action = { kind: "static", value: 1 };

/** A field without its location: what the rows of one register or MSR list. */
export interface Row extends FieldRule {
  zeroMeans?: { lsb: number; msb: number };
}

type Bits = number | readonly [lsb: number, msb: number];

// The builders below make each object literally, without object spread: these tables are
// built at every start of the executable, and spread is the slow path of cold (interpreted) code.
function row(bits: Bits, name: string, action: Action, compare: Compare, why: string | undefined): Row {
  const lsb = typeof bits === "number" ? bits : bits[0];
  const msb = typeof bits === "number" ? bits : bits[1];
  const r: Row = { lsb, msb, name, action, compare };
  if (why) r.why = why;
  return r;
}

/** A row placed at a location: `field` gets the row's optional parts, only where the row has them. */
function withOptionals<F extends { nested?: boolean; why?: string; zeroMeans?: { lsb: number; msb: number } }>(
  field: F,
  r: Row,
): F {
  if (r.nested !== undefined) field.nested = r.nested;
  if (r.why !== undefined) field.why = r.why;
  if (r.zeroMeans !== undefined) field.zeroMeans = r.zeroMeans;
  return field;
}

/** A feature the source host's value decides, compared as a bit subset. */
export function feature(bits: Bits, name: string, why?: string): Row {
  return row(bits, name, INHERIT, "subset", why);
}

const NESTED_WHY = "nested virtualisation: inherited, dropped at apply time unless nested is requested";

/** A VMX/SVM feature: inherited, dropped at apply time unless nested virtualisation is requested. */
export function nested(bits: Bits, name: string, compare: Compare = "subset", why: string = NESTED_WHY): Row {
  const r = row(bits, name, INHERIT, compare, why);
  r.nested = true;
  return r;
}

/** Always 0 in every profile. Compared as a subset, so it never makes a host incompatible. */
export function hidden(bits: Bits, name: string, why: string): Row {
  return row(bits, name, HIDE, "subset", why);
}

/** Always `value` (x2APIC, hypervisor, bad-news bits). */
export function forced(bits: Bits, name: string, value: number, compare: Compare, why: string): Row {
  return row(bits, name, value === 0 ? HIDE : value === 1 ? FORCE_ON : { kind: "static", value }, compare, why);
}

/** Left to the host the VM runs on (topology, caches, sizes, brand). */
export function passthrough(bits: Bits, name: string, compare: Compare = "none", why?: string): Row {
  return row(bits, name, PASSTHROUGH, compare, why);
}

/** A multi-bit value inherited from the source host and compared with `compare` (le, eq, none). */
export function numeric(bits: Bits, name: string, compare: Compare, why?: string): Row {
  return row(bits, name, INHERIT, compare, why);
}

/** The rows of one CPUID register over a subleaf range (a number is that single subleaf). */
export function cpuidRegister(
  leaf: number,
  subleaves: number | SubleafRange,
  register: Register,
  rows: readonly Row[],
): CpuidField[] {
  const range = typeof subleaves === "number" ? { start: subleaves, end: subleaves } : subleaves;
  return rows.map((r) =>
    withOptionals<CpuidField>(
      { leaf, subleaves: range, register, lsb: r.lsb, msb: r.msb, name: r.name, action: r.action, compare: r.compare },
      r,
    ),
  );
}

/** The same rows for several registers (whole leaves passed through or hidden). */
export function cpuidRegisters(
  leaf: number,
  subleaves: number | SubleafRange,
  registers: readonly Register[],
  row: Row,
): CpuidField[] {
  return registers.flatMap((reg) => cpuidRegister(leaf, subleaves, reg, [{ ...row, name: `${row.name}_${reg}` }]));
}

export const ALL_REGISTERS: readonly Register[] = ["eax", "ebx", "ecx", "edx"];

/**
 * One rule over a whole register, row by row as the catalogue names its pieces (features, fields, and runs of
 * bits it does not name, by location), so that a register hidden as a whole still names each bit once.
 */
export function cataloguedRegister(
  leaf: number,
  subleaves: number | SubleafRange,
  register: Register,
  rule: (bits: Bits, name: string) => Row,
): CpuidField[] {
  const first = typeof subleaves === "number" ? subleaves : subleaves.start;
  return cpuidRegister(
    leaf,
    subleaves,
    register,
    sourceCatalogue.cpuidPieces(leaf, first, register).map((p) => rule([p.lsb, p.msb], p.name)),
  );
}

/** The rows of one feature MSR (64-bit fields). */
export function msrFields(index: number, rows: readonly Row[]): MsrField[] {
  return rows.map((r) =>
    withOptionals<MsrField>({ index, lsb: r.lsb, msb: r.msb, name: r.name, action: r.action, compare: r.compare }, r),
  );
}

/** An MSR (or block) the guest may access. */
export function permit(index: number, name: string, extra: Partial<MsrRule> = {}): MsrRule {
  return { index, name, access: "permitted", ...extra };
}

/** An MSR (or block) the filter denies where the host knows it. */
export function deny(index: number, name: string, why: string, extra: Partial<MsrRule> = {}): MsrRule {
  return { index, name, access: "denied", why, ...extra };
}
