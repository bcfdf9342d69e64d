// Runs at bundle time (imported `with { type: "macro" }`): builds a vendor's policy table from
// its row builders and returns it as JSON, so the executable parses one string instead of
// running the builders (and the catalogue lookups they use) at every start.
import { AMD_POLICY } from "./amd.ts";
import { INTEL_POLICY } from "./intel.ts";

const tableOf = (vendor: "intel" | "amd") => (vendor === "intel" ? INTEL_POLICY : AMD_POLICY);

export function policyTableJson(vendor: "intel" | "amd"): string {
  return JSON.stringify(tableOf(vendor));
}

/**
 * Where each CPUID register's fields are in policyTableJson(vendor), as JSON: `leaf.register` -> [start, end, ...],
 * each a slice holding one or more comma-separated fields, in table order. A cold run that needs a few registers
 * parses their slices instead of the whole table.
 */
export function policyRegisterSpansJson(vendor: "intel" | "amd"): string {
  const table = tableOf(vendor);
  const whole = JSON.stringify(table);
  const spans: Record<string, number[]> = {};
  let at = whole.indexOf('"cpuid":[') + '"cpuid":['.length;
  for (const f of table.cpuid) {
    const text = JSON.stringify(f);
    if (!whole.startsWith(text, at)) throw new Error(`policy ${vendor}: field ${f.name} is not where expected`);
    const list = (spans[`${f.leaf}.${f.register}`] ??= []);
    // a field right after the register's previous one (rows of one register are built together) extends its slice
    if (list.length > 0 && list[list.length - 1]! + 1 === at) list[list.length - 1] = at + text.length;
    else list.push(at, at + text.length);
    at += text.length + 1;
  }
  return JSON.stringify(spans);
}

/**
 * The CPUID fields a guest sees only when nesting is asked for (the rows marked `nested`), as JSON: apply clears
 * them from every table it builds, and a cold `verify host` needs nothing else of the policy before a guest runs.
 */
export function policyNestedFieldsJson(vendor: "intel" | "amd"): string {
  return JSON.stringify(tableOf(vendor).cpuid.filter((f) => f.nested));
}
