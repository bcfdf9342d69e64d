// Lookups over the policy tables. The tables are data; this is the only code that reads them.
import type { Register } from "../model/cpuid.ts";
import { memoByObject } from "../model/memo.ts";
import type { Vendor } from "../model/vendor.ts";
import { policyTableJson } from "./macro.ts" with { type: "macro" };
import type { CpuidField, MsrField, MsrRule, Policy } from "./types.ts";

export type { Action, Compare, CpuidField, FieldRule, MsrField, MsrRule, Policy, SubleafRange } from "./types.ts";

// Each table is built from its rows (intel.ts, amd.ts) at bundle time and parsed on first use:
// building them at start-up cost about 2.5 ms of a cold `verify host`, parsing one about 0.3 ms.
const TABLE_JSON: Record<Vendor, string> = { intel: policyTableJson("intel"), amd: policyTableJson("amd") };
const POLICIES: Partial<Record<Vendor, Policy>> = {};

export function policyFor(vendor: Vendor): Policy {
  return (POLICIES[vendor] ??= JSON.parse(TABLE_JSON[vendor]) as Policy);
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
