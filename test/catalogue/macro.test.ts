// The executable carries the catalogue's tables as JSON the bundler made from the table modules
// (src/catalogue/macro.ts): what index.ts exports must be exactly those tables.
import { expect, test } from "bun:test";
import { allCpuidFeatures, allCpuidFields, allMsrBitFields, allMsrNames } from "../../src/catalogue/index.ts";
import { CPUID_FEATURES as FEATURES_SOURCE } from "../../src/catalogue/cpuid-features.ts";
import { CPUID_FIELDS as FIELDS_SOURCE } from "../../src/catalogue/cpuid-fields.ts";
import { MSR_BIT_FIELDS as MSR_FIELDS_SOURCE, MSR_NAMES as MSR_NAMES_SOURCE } from "../../src/catalogue/msrs.ts";

test("the catalogue built at bundle time is the table modules' data, entry for entry", () => {
  expect(Bun.deepEquals(allCpuidFeatures(), FEATURES_SOURCE, true)).toBe(true);
  expect(Bun.deepEquals(allCpuidFields(), FIELDS_SOURCE, true)).toBe(true);
  expect(Bun.deepEquals(allMsrBitFields(), MSR_FIELDS_SOURCE, true)).toBe(true);
  expect([...allMsrNames()]).toEqual([...MSR_NAMES_SOURCE]);
  expect(allCpuidFeatures().length).toBeGreaterThan(300);
  expect(allMsrNames().size).toBeGreaterThan(100);
});
