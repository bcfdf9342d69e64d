// Names for CPUID bits and MSR bits, so reports say `avx512f`, not `0x7.0.ebx[16]`.
import { catalogueFeaturesByLeaf, catalogueTableJson } from "./macro.ts" with { type: "macro" };
import { once } from "../model/memo.ts";
import { catalogueOver } from "./lookups.ts";
import type { CpuidFeature, CpuidField, MsrBitField } from "./types.ts";

export type { CpuidFeature, CpuidField, MsrBitField } from "./types.ts";
export type { CpuidFeatureBit } from "./lookups.ts";
export { KVM_FEATURE_MSR_INDICES, isKvmFeatureMsr } from "./feature-msrs.ts";

// The tables (cpuid-features.ts, cpuid-fields.ts, msrs.ts) as the bundler evaluated them (macro.ts), each
// parsed when first asked: parsing all four at start was about 0.35 ms of a cold `verify host`, which
// needs only the feature names (and those only where the guest's view differs).
const FIELDS_JSON = catalogueTableJson("cpuidFields");
const MSR_NAMES_JSON = catalogueTableJson("msrNames");
const MSR_BIT_FIELDS_JSON = catalogueTableJson("msrBitFields");

const FEATURES = catalogueFeaturesByLeaf();
const leafFeatures = new Map<number, readonly CpuidFeature[]>();

/** The features of one leaf, in table order, parsed when first asked. */
function featuresOfLeaf(leaf: number): readonly CpuidFeature[] {
  let features = leafFeatures.get(leaf);
  if (features === undefined) {
    const json = FEATURES.byLeaf[String(leaf)];
    leafFeatures.set(leaf, (features = json === undefined ? [] : (JSON.parse(json) as CpuidFeature[])));
  }
  return features;
}

/** Every named CPUID feature bit, in table order (the same objects the lookups by location give). */
export const allCpuidFeatures = once((): readonly CpuidFeature[] => {
  const next = new Map<number, number>();
  return FEATURES.order.map((leaf) => {
    const i = next.get(leaf) ?? 0;
    next.set(leaf, i + 1);
    return featuresOfLeaf(leaf)[i]!;
  });
});
/** Every named multi-bit CPUID field. */
export const allCpuidFields = once((): readonly CpuidField[] => JSON.parse(FIELDS_JSON));
/** MSR index -> name. */
export const allMsrNames = once(
  (): ReadonlyMap<number, string> => new Map(JSON.parse(MSR_NAMES_JSON) as [number, string][]),
);
/** Every named bit field of a feature MSR. */
export const allMsrBitFields = once((): readonly MsrBitField[] => JSON.parse(MSR_BIT_FIELDS_JSON));

const catalogue = catalogueOver({
  cpuidFeatures: allCpuidFeatures,
  cpuidFeaturesOfLeaf: featuresOfLeaf,
  cpuidFields: allCpuidFields,
  msrNames: allMsrNames,
  msrBitFields: allMsrBitFields,
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
