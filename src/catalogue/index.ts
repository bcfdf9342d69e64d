// Names for CPUID bits and MSR bits, so reports say `avx512f`, not `0x7.0.ebx[16]`.
import { catalogueJson } from "./macro.ts" with { type: "macro" };
import { catalogueOver } from "./lookups.ts";
import type { CpuidFeature, CpuidField, MsrBitField } from "./types.ts";

export type { CpuidFeature, CpuidField, MsrBitField } from "./types.ts";
export type { CpuidFeatureBit } from "./lookups.ts";
export { KVM_FEATURE_MSR_INDICES, isKvmFeatureMsr } from "./feature-msrs.ts";

// The tables (cpuid-features.ts, cpuid-fields.ts, msrs.ts) as the bundler evaluated them (macro.ts):
// one JSON.parse at start instead of evaluating the table modules, about 0.5 ms of a cold start.
const TABLES = JSON.parse(catalogueJson()) as {
  cpuidFeatures: CpuidFeature[];
  cpuidFields: CpuidField[];
  msrNames: [number, string][];
  msrBitFields: MsrBitField[];
};
export const CPUID_FEATURES: readonly CpuidFeature[] = TABLES.cpuidFeatures;
export const CPUID_FIELDS: readonly CpuidField[] = TABLES.cpuidFields;
export const MSR_NAMES: ReadonlyMap<number, string> = new Map(TABLES.msrNames);
export const MSR_BIT_FIELDS: readonly MsrBitField[] = TABLES.msrBitFields;

const catalogue = catalogueOver({
  cpuidFeatures: CPUID_FEATURES,
  cpuidFields: CPUID_FIELDS,
  msrNames: MSR_NAMES,
  msrBitFields: MSR_BIT_FIELDS,
});
export const cpuidFeatureAt = catalogue.cpuidFeatureAt;
export const cpuidBitLocation = catalogue.cpuidBitLocation;
export const cpuidBitName = catalogue.cpuidBitName;
export const cpuidBitQemuName = catalogue.cpuidBitQemuName;
export const findCpuidFeature = catalogue.findCpuidFeature;
export const namedCpuidBits = catalogue.namedCpuidBits;
export const cpuidFieldAt = catalogue.cpuidFieldAt;
export const cpuidBitsName = catalogue.cpuidBitsName;
export const cpuidPieces = catalogue.cpuidPieces;
export const msrName = catalogue.msrName;
export const msrFieldAt = catalogue.msrFieldAt;
export const msrBitName = catalogue.msrBitName;
export const msrBitQemuName = catalogue.msrBitQemuName;
export const namedMsrFields = catalogue.namedMsrFields;
export const cpuidFeatureBit = catalogue.cpuidFeatureBit;
