// cpuidFeatureAt packs (leaf, subleaf, register, bit) into one number: it must answer exactly as a
// scan of the table does, for catalogued locations and for any other.
import { expect, test } from "bun:test";
import fc from "fast-check";
import { allCpuidFeatures, cpuidFeatureAt, type CpuidFeature } from "../../src/catalogue/index.ts";
import type { Register } from "../../src/model/cpuid.ts";

function scan(leaf: number, subleaf: number, register: Register, bit: number): CpuidFeature | undefined {
  const at = (s: number | null) =>
    allCpuidFeatures().find((f) => f.leaf === leaf && f.subleaf === s && f.register === register && f.bit === bit);
  return at(subleaf) ?? at(null);
}

const leaves = [...new Set(allCpuidFeatures().map((f) => f.leaf))];

test("cpuidFeatureAt answers as a scan of the table does", () => {
  fc.assert(
    fc.property(
      fc.oneof(fc.constantFrom(...leaves), fc.integer({ min: 0, max: 0xffffffff })),
      fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 0xffffffff }), fc.constant(-1)),
      fc.constantFrom<Register>("eax", "ebx", "ecx", "edx"),
      fc.oneof(fc.integer({ min: 0, max: 31 }), fc.integer({ min: -2, max: 70 })),
      (leaf, subleaf, register, bit) => {
        expect(cpuidFeatureAt(leaf, subleaf, register, bit)).toBe(scan(leaf, subleaf, register, bit));
      },
    ),
    { numRuns: 3000 },
  );
  for (const f of allCpuidFeatures()) expect(cpuidFeatureAt(f.leaf, f.subleaf ?? 0, f.register, f.bit)).toBeDefined();
});
