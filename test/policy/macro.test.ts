// The executable carries each policy table as JSON built at bundle time (src/policy/macro.ts);
// what policyFor returns must be exactly what the row builders make, key for key.
import { describe, expect, test } from "bun:test";
import type { Register } from "../../src/model/cpuid.ts";
import { cpuidFieldsFor, cpuidFieldsFromSlices, nestedCpuidFieldsOf, policyFor } from "../../src/policy/index.ts";
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

describe("one register's fields, parsed from its slices of the table", () => {
  test.each(["intel", "amd"] as const)(
    "equal cpuidFieldsFor over the parsed table, for every register of %s",
    (vendor) => {
      const policy = policyFor(vendor);
      const keys = new Set(policy.cpuid.map((f) => `${f.leaf}:${f.register}`));
      let nonEmpty = 0;
      for (const key of keys) {
        const [leaf, register] = [Number(key.split(":")[0]), key.split(":")[1] as Register];
        const subleaves = policy.cpuid
          .filter((f) => f.leaf === leaf)
          .flatMap((f) => [
            f.subleaves.start,
            f.subleaves.end,
            f.subleaves.start + 1,
            Math.max(0, f.subleaves.start - 1),
          ]);
        for (const subleaf of [0, 1, 2, ...subleaves]) {
          const parsed = cpuidFieldsFor(policy, leaf, subleaf, register);
          expect(cpuidFieldsFromSlices(vendor, leaf, subleaf, register)).toEqual(parsed);
          if (parsed.length > 0) nonEmpty++;
        }
      }
      expect(nonEmpty).toBeGreaterThan(100);
      // registers and leaves the table does not rule
      expect(cpuidFieldsFromSlices(vendor, 0x4000_0100, 0, "eax")).toEqual([]);
      expect(cpuidFieldsFromSlices(vendor, 0xffff_ffff, 3, "edx")).toEqual(
        cpuidFieldsFor(policy, 0xffff_ffff, 3, "edx"),
      );
    },
  );
});

describe("the nested-only fields, parsed on their own for apply", () => {
  test.each([
    ["intel", INTEL_POLICY],
    ["amd", AMD_POLICY],
  ] as const)("nestedCpuidFieldsOf('%s') is exactly the table's nested rows, in order", (vendor, built) => {
    const nested = nestedCpuidFieldsOf(vendor);
    expect(
      Bun.deepEquals(
        nested,
        built.cpuid.filter((f) => f.nested),
        true,
      ),
    ).toBe(true);
    expect(nested.length).toBeGreaterThan(0); // VMX or SVM at least
  });
});
