// The executable carries each policy table as JSON built at bundle time (src/policy/macro.ts);
// what policyFor returns must be exactly what the row builders make, key for key.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { REGISTERS, type Register } from "../../src/model/cpuid.ts";
import {
  cpuidFieldsFor,
  cpuidFieldsFromIndex,
  nestedCpuidFieldsOf,
  policyFor,
  vendorCpuidField,
  vendorCpuidFieldEntries,
} from "../../src/policy/index.ts";
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
          expect(cpuidFieldsFromIndex(vendor, leaf, subleaf, register)).toEqual(parsed);
          if (parsed.length > 0) nonEmpty++;
        }
      }
      expect(nonEmpty).toBeGreaterThan(100);
      // registers and leaves the table does not rule
      expect(cpuidFieldsFromIndex(vendor, 0x4000_0100, 0, "eax")).toEqual([]);
      expect(cpuidFieldsFromIndex(vendor, 0xffff_ffff, 3, "edx")).toEqual(
        cpuidFieldsFor(policy, 0xffff_ffff, 3, "edx"),
      );
    },
  );
});

describe("the index of where each field is (what split.ts works from)", () => {
  test.each(["intel", "amd"] as const)(
    "property (%s): its entries are cpuidFieldsFor's fields, in its order, and each span parses to its field",
    (vendor) => {
      const policy = policyFor(vendor);
      const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
      // a register the table rules, at a subleaf in, at the edge of or past one of its fields' ranges; or anywhere
      const ruled = fc
        .constantFrom(...policy.cpuid)
        .chain((f) =>
          fc.tuple(
            fc.constant(f.leaf),
            fc.oneof(
              fc.constantFrom(f.subleaves.start, f.subleaves.end, f.subleaves.start - 1, f.subleaves.end + 1),
              fc.integer({ min: f.subleaves.start, max: Math.min(f.subleaves.end, f.subleaves.start + 70) }),
            ),
            fc.constant(f.register),
          ),
        );
      const anywhere = fc.tuple(u32, fc.oneof(fc.nat({ max: 70 }), u32), fc.constantFrom(...REGISTERS));
      fc.assert(
        fc.property(fc.oneof(ruled, anywhere), ([leaf, subleaf, register]) => {
          const whole = cpuidFieldsFor(policy, leaf, subleaf, register);
          const entries = vendorCpuidFieldEntries(vendor, leaf, subleaf, register);
          expect(entries.map((e) => [e.lsb, e.msb])).toEqual(whole.map((f) => [f.lsb, f.msb]));
          // the parsed table's own objects (this process has parsed it), and the same again from the spans alone
          entries.forEach((e, i) => expect(vendorCpuidField(vendor, e)).toBe(whole[i]!));
          expect(cpuidFieldsFromIndex(vendor, leaf, subleaf, register)).toStrictEqual(whole);
        }),
        { numRuns: 3000 },
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
