// Lookups over the policy tables. The tables are data; this is the only code that reads them.
import type { Register } from "../model/cpuid.ts";
import { memoByObject } from "../model/memo.ts";
import type { Vendor } from "../model/vendor.ts";
import { policyNestedFieldsJson, policyRegisterSpansJson, policyTableJson } from "./macro.ts" with { type: "macro" };
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

// Where each register's fields are in TABLE_JSON (macro.ts): a cold `verify host` splits only the few registers
// a guest saw differ, and parsing their slices instead of the whole table saved about 0.4 ms of it.
const SPANS_JSON: Record<Vendor, string> = {
  intel: policyRegisterSpansJson("intel"),
  amd: policyRegisterSpansJson("amd"),
};
const REGISTER_SLOT: Record<Register, number> = { eax: 0, ebx: 1, ecx: 2, edx: 3 };
const spansOf: Partial<Record<Vendor, Record<string, number[]>>> = {};
const registerFields: Record<Vendor, Map<number, CpuidField[]>> = { intel: new Map(), amd: new Map() };

/** Every field of one register of one leaf (any subleaf), in table order, parsed from its slices of the table. */
function registerFieldsOf(vendor: Vendor, leaf: number, register: Register): CpuidField[] {
  const key = leaf * 4 + REGISTER_SLOT[register];
  let fields = registerFields[vendor].get(key);
  if (fields === undefined) {
    const spans = (spansOf[vendor] ??= JSON.parse(SPANS_JSON[vendor]) as Record<string, number[]>)[
      `${leaf}.${register}`
    ];
    let text = "";
    if (spans)
      for (let i = 0; i < spans.length; i += 2)
        text += (i === 0 ? "" : ",") + TABLE_JSON[vendor].slice(spans[i], spans[i + 1]);
    fields = JSON.parse(`[${text}]`) as CpuidField[];
    registerFields[vendor].set(key, fields);
  }
  return fields;
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
 * cpuidFieldsFor over the vendor's table, without parsing the whole table when nothing has yet: the register's
 * own fields are parsed alone (the same fields, in the same order).
 */
export function vendorCpuidFieldsFor(vendor: Vendor, leaf: number, subleaf: number, register: Register): CpuidField[] {
  const policy = POLICIES[vendor];
  return policy
    ? cpuidFieldsFor(policy, leaf, subleaf, register)
    : cpuidFieldsFromSlices(vendor, leaf, subleaf, register);
}

/** vendorCpuidFieldsFor's way when the table is not parsed: the register's slices of the table JSON alone. */
export function cpuidFieldsFromSlices(vendor: Vendor, leaf: number, subleaf: number, register: Register): CpuidField[] {
  const out: CpuidField[] = [];
  for (const f of registerFieldsOf(vendor, leaf, register))
    if (subleaf >= f.subleaves.start && subleaf <= f.subleaves.end) out.push(f);
  return out.sort((a, b) => a.lsb - b.lsb);
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
