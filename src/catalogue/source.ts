// The catalogue's lookups over the table modules themselves, for code that runs at bundle time
// (src/policy's rows, built by policy/macro.ts): index.ts reads the tables through a macro, and a
// module with a macro import cannot be loaded from inside another macro.
import { CPUID_FEATURES } from "./cpuid-features.ts";
import { CPUID_FIELDS } from "./cpuid-fields.ts";
import { catalogueOver } from "./lookups.ts";
import { MSR_BIT_FIELDS, MSR_NAMES } from "./msrs.ts";

export const sourceCatalogue = catalogueOver({
  cpuidFeatures: () => CPUID_FEATURES,
  cpuidFeaturesOfLeaf: (leaf) => CPUID_FEATURES.filter((f) => f.leaf === leaf),
  cpuidFields: () => CPUID_FIELDS,
  msrNames: () => MSR_NAMES,
  msrBitFields: () => MSR_BIT_FIELDS,
});
