// The executable carries the catalogue's tables as JSON the bundler made from the table modules
// (src/catalogue/macro.ts): what index.ts exports must be exactly those tables.
import { expect, test } from "bun:test";
import { CPUID_FEATURES, CPUID_FIELDS, MSR_BIT_FIELDS, MSR_NAMES } from "../../src/catalogue/index.ts";
import { CPUID_FEATURES as FEATURES_SOURCE } from "../../src/catalogue/cpuid-features.ts";
import { CPUID_FIELDS as FIELDS_SOURCE } from "../../src/catalogue/cpuid-fields.ts";
import { MSR_BIT_FIELDS as MSR_FIELDS_SOURCE, MSR_NAMES as MSR_NAMES_SOURCE } from "../../src/catalogue/msrs.ts";

test("the catalogue built at bundle time is the table modules' data, entry for entry", () => {
  expect(Bun.deepEquals(CPUID_FEATURES, FEATURES_SOURCE, true)).toBe(true);
  expect(Bun.deepEquals(CPUID_FIELDS, FIELDS_SOURCE, true)).toBe(true);
  expect(Bun.deepEquals(MSR_BIT_FIELDS, MSR_FIELDS_SOURCE, true)).toBe(true);
  expect([...MSR_NAMES]).toEqual([...MSR_NAMES_SOURCE]);
  expect(CPUID_FEATURES.length).toBeGreaterThan(300);
  expect(MSR_NAMES.size).toBeGreaterThan(100);
});
