// The executable carries each policy table as JSON built at bundle time (src/policy/macro.ts);
// what policyFor returns must be exactly what the row builders make, key for key.
import { describe, expect, test } from "bun:test";
import { policyFor } from "../../src/policy/index.ts";
import { AMD_POLICY } from "../../src/policy/amd.ts";
import { INTEL_POLICY } from "../../src/policy/intel.ts";

describe("policy tables built at bundle time", () => {
  test.each([
    ["intel", INTEL_POLICY],
    ["amd", AMD_POLICY],
  ] as const)("policyFor('%s') equals the table its rows build", (vendor, built) => {
    const table = policyFor(vendor);
    expect(Bun.deepEquals(table, built, true)).toBe(true);
    expect(table.cpuid.length).toBeGreaterThan(100);
    expect(policyFor(vendor)).toBe(table); // parsed once
  });
});
