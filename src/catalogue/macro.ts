// Runs at bundle time (imported `with { type: "macro" }`): each of the catalogue's tables as a JSON
// string, so the executable parses a table (when first asked) instead of evaluating the table modules
// (hundreds of object literals, the MSR name series) at every start.
import { CPUID_FEATURES } from "./cpuid-features.ts";
import { CPUID_FIELDS } from "./cpuid-fields.ts";
import { MSR_BIT_FIELDS, MSR_NAMES } from "./msrs.ts";

export function catalogueTableJson(table: "cpuidFeatures" | "cpuidFields" | "msrNames" | "msrBitFields"): string {
  const tables = {
    cpuidFeatures: CPUID_FEATURES,
    cpuidFields: CPUID_FIELDS,
    msrNames: [...MSR_NAMES],
    msrBitFields: MSR_BIT_FIELDS,
  };
  return JSON.stringify(tables[table]);
}
