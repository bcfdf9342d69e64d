// Runs at bundle time (imported `with { type: "macro" }`): each of the catalogue's tables as a JSON
// string, so the executable parses a table (when first asked) instead of evaluating the table modules
// (hundreds of object literals, the MSR name series) at every start.
import { CPUID_FEATURES } from "./cpuid-features.ts";
import { CPUID_FIELDS } from "./cpuid-fields.ts";
import { featureKey } from "./lookups.ts";
import { MSR_BIT_FIELDS, MSR_NAMES } from "./msrs.ts";
import { itemSpans } from "../model/json-spans.ts";

const TABLES = {
  cpuidFeatures: CPUID_FEATURES,
  cpuidFields: CPUID_FIELDS,
  msrNames: [...MSR_NAMES],
  msrBitFields: MSR_BIT_FIELDS,
};

export function catalogueTableJson(table: keyof typeof TABLES): string {
  return JSON.stringify(TABLES[table]);
}

/**
 * Where each CPUID feature is in catalogueTableJson("cpuidFeatures"), so that a lookup by location parses only
 * the features it names (a cold `verify host` names a few differing bits): leaf (in decimal) -> the JSON text of
 * one run of numbers per feature of that leaf, [cpuidFeatureKey, position in the table, start, end of its JSON],
 * ascending by key.
 */
export function catalogueFeatureIndex(): Record<string, string> {
  const spans = itemSpans(catalogueTableJson("cpuidFeatures"), 1, CPUID_FEATURES);
  const records: Record<string, number[][]> = {};
  CPUID_FEATURES.forEach((f, at) => (records[String(f.leaf)] ??= []).push([featureKey(f), at, ...spans[at]!]));
  const index: Record<string, string> = {};
  for (const [leaf, list] of Object.entries(records)) index[leaf] = JSON.stringify(sortedByKey(list).flat());
  return index;
}

/**
 * Where each MSR's name is in catalogueTableJson("msrNames"), so that naming a few MSRs does not build the map of
 * them all: the JSON text of one run of numbers per MSR, [index, start, end of its [index, name] JSON], ascending.
 */
export function catalogueMsrNameIndex(): string {
  const names = TABLES.msrNames;
  const spans = itemSpans(catalogueTableJson("msrNames"), 1, names);
  return JSON.stringify(sortedByKey(names.map(([index], at) => [index, ...spans[at]!])).flat());
}

/** Records ascending by their key (the first number), which must be unique: a lookup finds one by binary search. */
function sortedByKey(records: number[][]): number[][] {
  const sorted = records.sort((a, b) => a[0]! - b[0]!);
  sorted.forEach((r, i) => {
    if (i > 0 && r[0] === sorted[i - 1]![0]) throw new Error(`catalogue index: key ${r[0]} twice`);
  });
  return sorted;
}
