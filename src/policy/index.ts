// Lookups over the policy tables. The tables are data; this is the only code that reads them.
import type { Register } from "../model/cpuid.ts";
import { memoByObject, once } from "../model/memo.ts";
import type { Vendor } from "../model/vendor.ts";
import { policyFieldIndex, policyNestedFieldsJson, policyTableJson } from "./macro.ts" with { type: "macro" };
import type { CpuidField, MsrField, MsrRule, Policy } from "./types.ts";

export type { Action, Compare, CpuidField, FieldRule, MsrField, MsrRule, Policy, SubleafRange } from "./types.ts";

// Each table is built from its rows (intel.ts, amd.ts) at bundle time and parsed on first use:
// building them at start-up cost about 2.5 ms of a cold `verify host`, parsing one about 0.3 ms.
const TABLE_JSON: Record<Vendor, string> = { intel: policyTableJson("intel"), amd: policyTableJson("amd") };
const POLICIES: Partial<Record<Vendor, Policy>> = {};

export function policyFor(vendor: Vendor): Policy {
  return (POLICIES[vendor] ??= JSON.parse(TABLE_JSON[vendor]) as Policy);
}

// The nested-only fields of each table (macro.ts), for apply, which needs nothing else of the policy for a
// host profile: parsing the whole table was about 0.4 ms of a cold `verify host`.
const NESTED_JSON: Record<Vendor, string> = {
  intel: policyNestedFieldsJson("intel"),
  amd: policyNestedFieldsJson("amd"),
};
const NESTED: Partial<Record<Vendor, readonly CpuidField[]>> = {};

/** The CPUID fields a guest sees only with nesting (the table's `nested` rows), in table order. */
export function nestedCpuidFieldsOf(vendor: Vendor): readonly CpuidField[] {
  return (NESTED[vendor] ??= JSON.parse(NESTED_JSON[vendor]) as CpuidField[]);
}

// Where each register's fields are in TABLE_JSON (macro.ts), built when a vendor's is first asked: a cold
// `verify host` splits only the bits a guest saw differ, and parsing only the fields holding them (45 here)
// instead of every field of their registers (7 registers, ~220 fields) took about 0.07 ms off its classify.
const FIELD_INDEX: Record<Vendor, () => Record<string, string>> = {
  intel: once(() => policyFieldIndex("intel")),
  amd: once(() => policyFieldIndex("amd")),
};
/** One field's run of numbers in FIELD_INDEX: [first subleaf, last subleaf, lsb, msb, position, start, end]. */
const FIELD_RECORD = 7;
const fieldRecords: Record<Vendor, Map<string, readonly number[]>> = { intel: new Map(), amd: new Map() };
const fieldsFromSpans: Record<Vendor, Map<number, CpuidField>> = { intel: new Map(), amd: new Map() };

/** Where one field of the table is: its bits, its position in the table's cpuid list and its span in the JSON. */
export interface CpuidFieldEntry {
  lsb: number;
  msb: number;
  position: number;
  start: number;
  end: number;
}

/**
 * Where the fields cpuidFieldsFor gives are, in its order, from the index alone: a caller that needs only some of
 * them (split.ts, by their bits) gets those with vendorCpuidField and no other is parsed.
 */
export function vendorCpuidFieldEntries(
  vendor: Vendor,
  leaf: number,
  subleaf: number,
  register: Register,
): CpuidFieldEntry[] {
  const key = `${leaf}.${register}`;
  let records = fieldRecords[vendor].get(key);
  if (records === undefined) {
    const json = FIELD_INDEX[vendor]()[key];
    fieldRecords[vendor].set(key, (records = json === undefined ? [] : (JSON.parse(json) as number[])));
  }
  const out: CpuidFieldEntry[] = [];
  for (let i = 0; i < records.length; i += FIELD_RECORD)
    if (subleaf >= records[i]! && subleaf <= records[i + 1]!)
      out.push({
        lsb: records[i + 2]!,
        msb: records[i + 3]!,
        position: records[i + 4]!,
        start: records[i + 5]!,
        end: records[i + 6]!,
      });
  return out;
}

/** The field an entry is: the parsed table's own object once the table is parsed, else parsed from its span. */
export function vendorCpuidField(vendor: Vendor, entry: CpuidFieldEntry): CpuidField {
  return POLICIES[vendor]?.cpuid[entry.position] ?? cpuidFieldFromSpan(vendor, entry);
}

/** An entry's field parsed from its span of the table JSON, once. */
function cpuidFieldFromSpan(vendor: Vendor, entry: CpuidFieldEntry): CpuidField {
  let field = fieldsFromSpans[vendor].get(entry.position);
  if (field === undefined)
    fieldsFromSpans[vendor].set(
      entry.position,
      (field = JSON.parse(TABLE_JSON[vendor].slice(entry.start, entry.end)) as CpuidField),
    );
  return field;
}

// Each index is built on first use, by appending (not copying a leaf's list per field): a cold
// `verify host` builds them once, in the interpreter, and needs only some of them.
const cpuidByLeafOf = memoByObject((policy: Policy): Map<number, CpuidField[]> => {
  const byLeaf = new Map<number, CpuidField[]>();
  for (const f of policy.cpuid) {
    const list = byLeaf.get(f.leaf);
    if (list) list.push(f);
    else byLeaf.set(f.leaf, [f]);
  }
  return byLeaf;
});

const msrFieldsByIndexOf = memoByObject((policy: Policy): Map<number, MsrField[]> => {
  const byIndex = new Map<number, MsrField[]>();
  for (const f of policy.msrFields) {
    const list = byIndex.get(f.index);
    if (list) list.push(f);
    else byIndex.set(f.index, [f]);
  }
  for (const list of byIndex.values()) list.sort((a, b) => a.lsb - b.lsb);
  return byIndex;
});

/** Each index any rule covers -> the first such rule in ascending-index order (what a scan would find). */
const msrRuleByIndexOf = memoByObject((policy: Policy): Map<number, MsrRule> => {
  const msrRules = [...policy.msrs].sort((a, b) => a.index - b.index);
  const byIndex = new Map<number, MsrRule>();
  for (const r of msrRules) for (let i = r.index; i <= (r.last ?? r.index); i++) if (!byIndex.has(i)) byIndex.set(i, r);
  return byIndex;
});

/** Every CPUID field of the table, in table order. */
export function cpuidFieldsIn(policy: Policy): readonly CpuidField[] {
  return policy.cpuid;
}

/** Every feature-MSR field of the table, in table order. */
export function msrFieldsIn(policy: Policy): readonly MsrField[] {
  return policy.msrFields;
}

/** Every MSR access rule of the table, in table order. */
export function msrRulesIn(policy: Policy): readonly MsrRule[] {
  return policy.msrs;
}

/** Every field of one leaf (any subleaf, any register). */
export function cpuidFieldsOfLeaf(policy: Policy, leaf: number): readonly CpuidField[] {
  return cpuidByLeafOf(policy).get(leaf) ?? [];
}

/** The leaves the table knows, ascending. */
export function cpuidLeavesOf(policy: Policy): number[] {
  return [...cpuidByLeafOf(policy).keys()].sort((a, b) => a - b);
}

/** The fields covering (leaf, subleaf, register), by ascending bit. */
export function cpuidFieldsFor(policy: Policy, leaf: number, subleaf: number, register: Register): CpuidField[] {
  return cpuidFieldsOfLeaf(policy, leaf)
    .filter((f) => f.register === register && subleaf >= f.subleaves.start && subleaf <= f.subleaves.end)
    .sort((a, b) => a.lsb - b.lsb);
}

/**
 * cpuidFieldsFor's fields as the index finds them before the table is parsed, each parsed from its span of the
 * table JSON (what split.ts gets in a cold process): tests hold the index to the table with it.
 */
export function cpuidFieldsFromIndex(vendor: Vendor, leaf: number, subleaf: number, register: Register): CpuidField[] {
  return vendorCpuidFieldEntries(vendor, leaf, subleaf, register).map((e) => cpuidFieldFromSpan(vendor, e));
}

/** The fields of one feature MSR, by ascending bit; empty when the table does not know it. */
export function msrFieldsFor(policy: Policy, index: number): readonly MsrField[] {
  return msrFieldsByIndexOf(policy).get(index) ?? [];
}

/** The feature MSRs the table has fields for, ascending. */
export function featureMsrsOf(policy: Policy): number[] {
  return [...msrFieldsByIndexOf(policy).keys()].sort((a, b) => a - b);
}

/** The access rule for one MSR (a rule may cover a block), or undefined when the table does not know it. */
export function msrRuleFor(policy: Policy, index: number): MsrRule | undefined {
  return msrRuleByIndexOf(policy).get(index);
}

/** Every index a rule covers (blocks expanded). */
export function msrRuleIndices(rule: MsrRule): number[] {
  const out: number[] = [];
  for (let i = rule.index; i <= (rule.last ?? rule.index); i++) out.push(i);
  return out;
}

export { ARCH_CAPABILITIES, FB_CLEAR_BIT, FB_CLEAR_EXCEPTION_HOST_BITS } from "./arch-capabilities.ts";
export {
  LEAF_GATES,
  leafGateOf,
  leafGatesOf,
  xsaveComponents,
  XSAVE_LEAF,
  FIRST_XSAVE_COMPONENT_SUBLEAF,
  type LeafGate,
} from "./leaf-gates.ts";
