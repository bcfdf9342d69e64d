// osMsrNeedsOfTable: verify's once-per-table form of osMsrNeeds over what a CPUID table advertises.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { CPUID_FLAG_SIGNIFICANT_INDEX, type CpuidEntry } from "../../src/model/cpuid.ts";
import { osMsrNeeds, osMsrNeedsOfTable, tableAdvertises } from "../../src/profile/guest-msrs.ts";

const u32 = fc.nat({ max: 0xffffffff });
// The leaves the guest-OS table's features live in, with subleaves 0-2 and both index flags, duplicates allowed.
const entry: fc.Arbitrary<CpuidEntry> = fc.record({
  function: fc.constantFrom(0x1, 0x6, 0x7, 0xd, 0x14, 0x80000001, 0x80000007, 0x80000008, 0x40000001),
  index: fc.nat({ max: 2 }),
  flags: fc.constantFrom(0, CPUID_FLAG_SIGNIFICANT_INDEX),
  eax: u32,
  ebx: u32,
  ecx: u32,
  edx: u32,
});

describe("osMsrNeedsOfTable", () => {
  test("the same needs as osMsrNeeds over tableAdvertises (first-match lookup), for both vendors", () => {
    fc.assert(
      fc.property(
        fc.array(entry, { maxLength: 30 }),
        fc.constantFrom("intel" as const, "amd" as const),
        (table, vendor) => {
          expect(structuredClone(osMsrNeedsOfTable(vendor, table))).toEqual(
            osMsrNeeds(vendor, (f) => tableAdvertises(table, f)),
          );
        },
      ),
      { numRuns: 300 },
    );
  });
  test("computed once per table and vendor, and frozen", () => {
    const table: CpuidEntry[] = [{ function: 1, index: 0, flags: 0, eax: 0, ebx: 0, ecx: 0xffffffff, edx: 0xffffffff }];
    const a = osMsrNeedsOfTable("intel", table);
    expect(osMsrNeedsOfTable("intel", table)).toBe(a);
    expect(osMsrNeedsOfTable("amd", table)).not.toBe(a);
    expect(osMsrNeedsOfTable("intel", structuredClone(table))).not.toBe(a);
    expect(Object.isFrozen(a) && Object.isFrozen(a.needed)).toBe(true);
  });
});
