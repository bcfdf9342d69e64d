// cpuidIndexOf answers what a scan of the table answers (findCpuid; the first entry of a function), for any table:
// verify resolves every probe through it against the applied and the observed table.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { CPUID_FLAG_SIGNIFICANT_INDEX, cpuidIndexOf, findCpuid, type CpuidEntry } from "../../src/model/cpuid.ts";

// few functions and indices, so that tables repeat them (duplicates, mixed significance)
const fnArb = fc.constantFrom(0, 1, 7, 0xd, 0x4000_0000, 0x8000_0001, 0xffff_ffff);
const indexArb = fc.constantFrom(0, 1, 2, 63, 0xffff_ffff);
const entryArb: fc.Arbitrary<CpuidEntry> = fc.record({
  function: fnArb,
  index: indexArb,
  flags: fc.constantFrom(0, CPUID_FLAG_SIGNIFICANT_INDEX, 2, CPUID_FLAG_SIGNIFICANT_INDEX | 2),
  eax: fc.nat(),
  ebx: fc.nat(),
  ecx: fc.nat(),
  edx: fc.nat(),
});

describe("cpuidIndexOf", () => {
  test("property: find is findCpuid and first is the first entry of the function, for any table and query", () => {
    fc.assert(
      fc.property(
        fc.array(entryArb, { maxLength: 12 }),
        fc.array(fc.tuple(fnArb, indexArb), { maxLength: 10 }),
        (table, queries) => {
          const ix = cpuidIndexOf(table);
          for (const [fn, index] of queries) {
            expect(ix.find(fn, index)).toBe(findCpuid(table, fn, index));
            expect(ix.first(fn)).toBe(table.find((e) => e.function === fn));
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});
