// Runs at bundle time (imported `with { type: "macro" }`): each of the catalogue's tables as a JSON
// string, so the executable parses a table (when first asked) instead of evaluating the table modules
// (hundreds of object literals, the MSR name series) at every start.
import { CPUID_FEATURES } from "./cpuid-features.ts";
import { CPUID_FIELDS } from "./cpuid-fields.ts";
import { MSR_BIT_FIELDS, MSR_NAMES } from "./msrs.ts";

export function catalogueTableJson(table: "cpuidFields" | "msrNames" | "msrBitFields"): string {
  const tables = {
    cpuidFields: CPUID_FIELDS,
    msrNames: [...MSR_NAMES],
    msrBitFields: MSR_BIT_FIELDS,
  };
  return JSON.stringify(tables[table]);
}

/**
 * The CPUID features of each leaf, as JSON text per leaf (key: the leaf in decimal), in table order, and the
 * table's order as the leaf of each entry: a lookup by location parses only its leaf's features, and the whole
 * table is those same objects in table order. A cold `verify host` names a few differing bits, and parsing the
 * whole feature table for them was ~0.3 ms.
 */
export function catalogueFeaturesByLeaf(): { byLeaf: Record<string, string>; order: number[] } {
  const byLeaf: Record<string, (typeof CPUID_FEATURES)[number][]> = {};
  for (const f of CPUID_FEATURES) (byLeaf[String(f.leaf)] ??= []).push(f);
  const out: Record<string, string> = {};
  for (const [leaf, features] of Object.entries(byLeaf)) out[leaf] = JSON.stringify(features);
  return { byLeaf: out, order: CPUID_FEATURES.map((f) => f.leaf) };
}
