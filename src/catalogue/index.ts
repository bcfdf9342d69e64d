// Names for CPUID bits and MSR bits, so reports say `avx512f`, not `0x7.0.ebx[16]`.
import { catalogueFeatureIndex, catalogueMsrNameIndex, catalogueTableJson } from "./macro.ts" with { type: "macro" };
import { findRecord } from "../model/json-spans.ts";
import { once } from "../model/memo.ts";
import { catalogueOver } from "./lookups.ts";
import type { CpuidFeature, CpuidField, MsrBitField } from "./types.ts";

export type { CpuidFeature, CpuidField, MsrBitField } from "./types.ts";
export type { CpuidFeatureBit } from "./lookups.ts";
export { KVM_FEATURE_MSR_INDICES, isKvmFeatureMsr } from "./feature-msrs.ts";

// The tables (cpuid-features.ts, cpuid-fields.ts, msrs.ts) as the bundler evaluated them (macro.ts), each
// parsed when first asked: parsing all four at start was about 0.35 ms of a cold `verify host`, which
// needs only a few feature and MSR names (those where the guest's view differs). Those are parsed alone,
// found through an index of where each entry's JSON is: building the map of every MSR name to name one
// was about 0.15 ms of it, parsing every feature of the leaves it names a few hundredths.
const FEATURES_JSON = catalogueTableJson("cpuidFeatures");
const FIELDS_JSON = catalogueTableJson("cpuidFields");
const MSR_NAMES_JSON = catalogueTableJson("msrNames");
const MSR_BIT_FIELDS_JSON = catalogueTableJson("msrBitFields");

const FEATURE_INDEX = once(() => catalogueFeatureIndex());
/** One feature's run of numbers in FEATURE_INDEX: [key, position in the table, start, end]. */
const FEATURE_RECORD = 4;
const featureRecords = new Map<number, readonly number[]>();
/** The features parsed so far, by position in the table: a lookup and the whole table give the same objects. */
const parsedFeatures = new Map<number, CpuidFeature>();

/**
 * The feature of one leaf at a cpuidFeatureKey, through the index: parsed alone from its span of the table, once
 * per `parsed` (the features this process has parsed; tests pass an empty map to hold the index to the table).
 */
export function cpuidFeatureByKey(
  leaf: number,
  key: number,
  parsed: Map<number, CpuidFeature> = parsedFeatures,
): CpuidFeature | undefined {
  let records = featureRecords.get(leaf);
  if (records === undefined) {
    const json = FEATURE_INDEX()[leaf]; // a number indexes as its decimal key, without String()'s first-call cost
    featureRecords.set(leaf, (records = json === undefined ? [] : (JSON.parse(json) as number[])));
  }
  const at = findRecord(records, FEATURE_RECORD, key);
  if (at < 0) return undefined;
  const position = records[at + 1]!;
  let feature = parsed.get(position);
  if (feature === undefined)
    parsed.set(position, (feature = JSON.parse(FEATURES_JSON.slice(records[at + 2], records[at + 3]))));
  return feature;
}

/** Every named CPUID feature bit, in table order (the same objects the lookups by location give). */
export const allCpuidFeatures = once((): readonly CpuidFeature[] =>
  (JSON.parse(FEATURES_JSON) as CpuidFeature[]).map((f, position) => {
    const parsed = parsedFeatures.get(position);
    if (parsed) return parsed;
    parsedFeatures.set(position, f);
    return f;
  }),
);
/** Every named multi-bit CPUID field. */
export const allCpuidFields = once((): readonly CpuidField[] => JSON.parse(FIELDS_JSON));

const MSR_NAME_INDEX_JSON = catalogueMsrNameIndex();
/** One MSR's run of numbers in MSR_NAME_INDEX_JSON: [index, start, end]. */
const MSR_NAME_RECORD = 3;
const msrNameRecords = once((): readonly number[] => JSON.parse(MSR_NAME_INDEX_JSON));
let msrNames: ReadonlyMap<number, string> | undefined;

/** MSR index -> name. */
export const allMsrNames = (): ReadonlyMap<number, string> =>
  (msrNames ??= new Map(JSON.parse(MSR_NAMES_JSON) as [number, string][]));

/** One MSR's name, through the index: its entry alone, parsed from its span of the table. */
export function msrNameFromIndex(index: number): string | undefined {
  const records = msrNameRecords();
  const at = findRecord(records, MSR_NAME_RECORD, index);
  return at < 0
    ? undefined
    : (JSON.parse(MSR_NAMES_JSON.slice(records[at + 1], records[at + 2])) as [number, string])[1];
}

/** Every named bit field of a feature MSR. */
export const allMsrBitFields = once((): readonly MsrBitField[] => JSON.parse(MSR_BIT_FIELDS_JSON));

const catalogue = catalogueOver({
  cpuidFeatures: allCpuidFeatures,
  cpuidFeatureByKey,
  cpuidFields: allCpuidFields,
  // the map once something built it, else the one name alone
  msrName: (index) => (msrNames ? msrNames.get(index) : msrNameFromIndex(index)),
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
