// The MSR gate table's lookup.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { MSR_CPUID_GATES, gateOf } from "../../src/verify/msr-gates.ts";

describe("gateOf", () => {
  test("the first gate of the table with the index, for every MSR index (and none where the table has none)", () => {
    for (const g of MSR_CPUID_GATES) expect(gateOf(g.index)).toBe(MSR_CPUID_GATES.find((x) => x.index === g.index)!);
    fc.assert(
      fc.property(fc.nat({ max: 0xffffffff }), (msr) => {
        expect(gateOf(msr)).toBe(MSR_CPUID_GATES.find((g) => g.index === msr));
      }),
      { numRuns: 2000 },
    );
  });
});
