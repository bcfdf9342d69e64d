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

interface PolicyIndex {
  cpuidByLeaf: Map<number, CpuidField[]>;
  msrFieldsByIndex: Map<number, MsrField[]>;
  msrRules: MsrRule[];
  /** Each index any rule covers -> the first such rule in msrRules' order (what a scan would find). */
  msrRuleByIndex: Map<number, MsrRule>;
}

const indexOf = memoByObject((policy: Policy): PolicyIndex => {
  const cpuidByLeaf = new Map<number, CpuidField[]>();
  for (const f of policy.cpuid) cpuidByLeaf.set(f.leaf, [...(cpuidByLeaf.get(f.leaf) ?? []), f]);
  const msrFieldsByIndex = new Map<number, MsrField[]>();
  for (const f of policy.msrFields) msrFieldsByIndex.set(f.index, [...(msrFieldsByIndex.get(f.index) ?? []), f]);
  for (const list of msrFieldsByIndex.values()) list.sort((a, b) => a.lsb - b.lsb);
  const msrRules = [...policy.msrs].sort((a, b) => a.index - b.index);
  const msrRuleByIndex = new Map<number, MsrRule>();
  for (const r of msrRules)
    for (let i = r.index; i <= (r.last ?? r.index); i++) if (!msrRuleByIndex.has(i)) msrRuleByIndex.set(i, r);
  return { cpuidByLeaf, msrFieldsByIndex, msrRules, msrRuleByIndex };
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
  return indexOf(policy).cpuidByLeaf.get(leaf) ?? [];
}

/** The leaves the table knows, ascending. */
export function cpuidLeavesOf(policy: Policy): number[] {
  return [...indexOf(policy).cpuidByLeaf.keys()].sort((a, b) => a - b);
}

/** The fields covering (leaf, subleaf, register), by ascending bit. */
export function cpuidFieldsFor(policy: Policy, leaf: number, subleaf: number, register: Register): CpuidField[] {
  return cpuidFieldsOfLeaf(policy, leaf)
    .filter((f) => f.register === register && subleaf >= f.subleaves.start && subleaf <= f.subleaves.end)
    .sort((a, b) => a.lsb - b.lsb);
}

/** The fields of one feature MSR, by ascending bit; empty when the table does not know it. */
export function msrFieldsFor(policy: Policy, index: number): readonly MsrField[] {
  return indexOf(policy).msrFieldsByIndex.get(index) ?? [];
}

/** The feature MSRs the table has fields for, ascending. */
export function featureMsrsOf(policy: Policy): number[] {
  return [...indexOf(policy).msrFieldsByIndex.keys()].sort((a, b) => a - b);
}

/** The access rule for one MSR (a rule may cover a block), or undefined when the table does not know it. */
export function msrRuleFor(policy: Policy, index: number): MsrRule | undefined {
  return indexOf(policy).msrRuleByIndex.get(index);
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
