// Runs at bundle time (imported `with { type: "macro" }`): the catalogue's tables as one JSON
// string, so the executable parses them instead of evaluating the table modules (hundreds of
// object literals, the MSR name series) at every start.
import { CPUID_FEATURES } from "./cpuid-features.ts";
import { CPUID_FIELDS } from "./cpuid-fields.ts";
import { MSR_BIT_FIELDS, MSR_NAMES } from "./msrs.ts";

export function catalogueJson(): string {
  return JSON.stringify({
    cpuidFeatures: CPUID_FEATURES,
    cpuidFields: CPUID_FIELDS,
    msrNames: [...MSR_NAMES],
    msrBitFields: MSR_BIT_FIELDS,
  });
}
