// The executable carries the catalogue's tables as JSON the bundler made from the table modules
// (src/catalogue/macro.ts): what index.ts exports must be exactly those tables.
import { expect, test } from "bun:test";
import {
  allCpuidFeatures,
  allCpuidFields,
  allMsrBitFields,
  allMsrNames,
  cpuidFeatureAt,
} from "../../src/catalogue/index.ts";
import { sourceCatalogue } from "../../src/catalogue/source.ts";
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

test("lookups by location, which parse only the asked leaf's features, agree with the table modules everywhere", () => {
  const leaves = [...new Set(FEATURES_SOURCE.map((f) => f.leaf)), 0x4000_0000, 0x8000_0099];
  const subleaves = [0, 1, 2, 7, 40];
  let found = 0;
  for (const leaf of leaves)
    for (const subleaf of subleaves)
      for (const register of ["eax", "ebx", "ecx", "edx"] as const)
        for (let bit = 0; bit < 32; bit++) {
          const got = cpuidFeatureAt(leaf, subleaf, register, bit);
          expect(got).toEqual(sourceCatalogue.cpuidFeatureAt(leaf, subleaf, register, bit));
          if (got) found++;
        }
  expect(found).toBeGreaterThan(300);
});
