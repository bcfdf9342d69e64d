// The executable carries the catalogue's tables as JSON the bundler made from the table modules
// (src/catalogue/macro.ts): what index.ts exports must be exactly those tables.
import { expect, test } from "bun:test";
import fc from "fast-check";
import {
  allCpuidFeatures,
  allCpuidFields,
  allMsrBitFields,
  allMsrNames,
  cpuidFeatureAt,
  cpuidFeatureByKey,
  msrName,
  msrNameFromIndex,
} from "../../src/catalogue/index.ts";
import { cpuidFeatureKey, featureKey } from "../../src/catalogue/lookups.ts";
import { REGISTERS } from "../../src/model/cpuid.ts";
import { hex32 } from "../../src/model/hex.ts";
import { BUN, REPO } from "../helpers/sources.ts";
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

const u32 = fc.integer({ min: 0, max: 0xffff_ffff });

test("property: the feature index finds each feature's own entry, parsed alone from its span, and nothing elsewhere", () => {
  // an empty map of parsed features: each answer is parsed from the span the index gives, whatever this process did
  const atKey = (leaf: number, key: number) => cpuidFeatureByKey(leaf, key, new Map());
  for (const f of FEATURES_SOURCE) expect(atKey(f.leaf, featureKey(f))).toStrictEqual(f);
  const leaves = [...new Set(FEATURES_SOURCE.map((f) => f.leaf))];
  fc.assert(
    fc.property(
      fc.oneof(fc.constantFrom(...leaves), u32),
      fc.oneof(fc.constant(null), fc.nat({ max: 4 }), fc.nat({ max: 4094 })),
      fc.constantFrom(...REGISTERS),
      fc.nat({ max: 31 }),
      (leaf, subleaf, register, bit) => {
        const source = FEATURES_SOURCE.find(
          (f) => f.leaf === leaf && f.subleaf === subleaf && f.register === register && f.bit === bit,
        );
        expect(atKey(leaf, cpuidFeatureKey(leaf, subleaf, register, bit))).toStrictEqual(source);
      },
    ),
    { numRuns: 5000 },
  );
});

test("property: the MSR name index gives each MSR's own name, parsed alone, and none for any other index", () => {
  for (const [index, name] of MSR_NAMES_SOURCE) expect(msrNameFromIndex(index)).toBe(name);
  const known = [...MSR_NAMES_SOURCE.keys()];
  fc.assert(
    fc.property(
      fc.oneof(
        fc.constantFrom(...known),
        fc.constantFrom(...known).map((i) => i + 1),
        u32,
        fc.integer({ min: -0x8000_0000, max: 0x1_0000_0000 }),
      ),
      (index) => {
        expect(msrNameFromIndex(index)).toBe(MSR_NAMES_SOURCE.get(index));
        expect(msrName(index)).toBe(MSR_NAMES_SOURCE.get(index >>> 0) ?? hex32(index));
      },
    ),
    { numRuns: 3000 },
  );
});

test("in a fresh process, names looked up before the whole tables are parsed are the tables' own", () => {
  // here the tables are parsed already (by the tests above); a cold command looks names up first
  const script = `
    import { allCpuidFeatures, allMsrNames, cpuidFeatureAt, msrName } from "${REPO}/src/catalogue/index.ts";
    const avx512f = cpuidFeatureAt(7, 0, "ebx", 16), ht = cpuidFeatureAt(1, 5, "edx", 28);
    const names = [msrName(0x10a), msrName(0x48), msrName(0x3)];
    console.log(JSON.stringify({
      same: allCpuidFeatures().includes(avx512f) && allCpuidFeatures().includes(ht),
      names: [...names, allMsrNames().get(0x10a)],
      features: [avx512f, ht],
    }));`;
  const r = Bun.spawnSync([BUN, "-e", script], { cwd: REPO, stdout: "pipe", stderr: "pipe" });
  expect(r.stderr.toString()).toBe("");
  expect(JSON.parse(r.stdout.toString())).toEqual({
    same: true,
    names: ["arch_capabilities", "spec_ctrl", hex32(3), "arch_capabilities"],
    features: [cpuidFeatureAt(7, 0, "ebx", 16), cpuidFeatureAt(1, 5, "edx", 28)],
  });
});
