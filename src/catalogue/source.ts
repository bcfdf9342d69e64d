// The catalogue's lookups over the table modules themselves, for code that runs at bundle time
// (src/policy's rows, built by policy/macro.ts): index.ts reads the tables through a macro, and a
// module with a macro import cannot be loaded from inside another macro.
import { CPUID_FEATURES } from "./cpuid-features.ts";
import { CPUID_FIELDS } from "./cpuid-fields.ts";
import { catalogueOver, featuresByKey } from "./lookups.ts";
import { MSR_BIT_FIELDS, MSR_NAMES } from "./msrs.ts";

export const sourceCatalogue = catalogueOver({
  cpuidFeatures: () => CPUID_FEATURES,
  cpuidFeatureByKey: featuresByKey(CPUID_FEATURES),
  cpuidFields: () => CPUID_FIELDS,
  msrName: (index) => MSR_NAMES.get(index),
  msrBitFields: () => MSR_BIT_FIELDS,
});
