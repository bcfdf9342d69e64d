// Runs at bundle time (imported `with { type: "macro" }`): builds a vendor's policy table from
// its row builders and returns it as JSON, so the executable parses one string instead of
// running the builders (and the catalogue lookups they use) at every start.
import { AMD_POLICY } from "./amd.ts";
import { INTEL_POLICY } from "./intel.ts";
import { itemSpans } from "../model/json-spans.ts";

const tableOf = (vendor: "intel" | "amd") => (vendor === "intel" ? INTEL_POLICY : AMD_POLICY);

export function policyTableJson(vendor: "intel" | "amd"): string {
  return JSON.stringify(tableOf(vendor));
}

/**
 * Where each CPUID register's fields are in policyTableJson(vendor), so that a lookup parses only the fields it
 * needs (a cold `verify host` only those holding a bit a guest saw differ): `leaf.register` -> the JSON text of
 * one run of numbers per field of that register (any subleaf), [first subleaf, last subleaf, lsb, msb, position
 * in the table's cpuid list, start, end of its JSON], in cpuidFieldsFor's order (by lsb, then table order).
 */
export function policyFieldIndex(vendor: "intel" | "amd"): Record<string, string> {
  const table = tableOf(vendor);
  const whole = JSON.stringify(table);
  const spans = itemSpans(whole, whole.indexOf('"cpuid":[') + '"cpuid":['.length, table.cpuid);
  const records: Record<string, number[][]> = {};
  table.cpuid.forEach((f, at) => {
    const [start, end] = spans[at]!;
    (records[`${f.leaf}.${f.register}`] ??= []).push([
      f.subleaves.start,
      f.subleaves.end,
      f.lsb,
      f.msb,
      at,
      start,
      end,
    ]);
  });
  const index: Record<string, string> = {};
  for (const [key, list] of Object.entries(records))
    index[key] = JSON.stringify(list.sort((a, b) => a[2]! - b[2]!).flat());
  return index;
}

/**
 * The CPUID fields a guest sees only when nesting is asked for (the rows marked `nested`), as JSON: apply clears
 * them from every table it builds, and a cold `verify host` needs nothing else of the policy before a guest runs.
 */
export function policyNestedFieldsJson(vendor: "intel" | "amd"): string {
  return JSON.stringify(tableOf(vendor).cpuid.filter((f) => f.nested));
}
