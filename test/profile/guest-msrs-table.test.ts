// osMsrNeedsOfTable: verify's once-per-table form of osMsrNeeds over what a CPUID table advertises.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { CPUID_FLAG_SIGNIFICANT_INDEX, type CpuidEntry } from "../../src/model/cpuid.ts";
import { GUEST_OS_MSRS, guestOsMsrsFor, osMsrIndices } from "../../src/catalogue/guest-os-msrs.ts";
import { compileGuestOsMsrs } from "../../src/catalogue/guest-os-msrs-compiled.ts";
import { compiledGuestOsMsrsJson } from "../../src/catalogue/guest-os-msrs-macro.ts";
import { cpuidFeatureBit } from "../../src/catalogue/index.ts";
import { embeddedProfile, embeddedProfileNames } from "../../src/embedded/profiles.ts";
import { applyProfile } from "../../src/profile/apply.ts";
import { osMsrNeeds, osMsrNeedsOfTable, tableAdvertises } from "../../src/profile/guest-msrs.ts";
import { allFixtureHosts, fixturesMissing } from "../helpers/fixtures.ts";

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
  test("computed once per table and vendor", () => {
    const table: CpuidEntry[] = [{ function: 1, index: 0, flags: 0, eax: 0, ebx: 0, ecx: 0xffffffff, edx: 0xffffffff }];
    const a = osMsrNeedsOfTable("intel", table);
    expect(osMsrNeedsOfTable("intel", table)).toBe(a);
    expect(osMsrNeedsOfTable("amd", table)).not.toBe(a);
    expect(osMsrNeedsOfTable("intel", structuredClone(table))).not.toBe(a);
  });
});

describe("the guest-OS table compiled at bundle time", () => {
  test("is compileGuestOsMsrs over the table and the catalogue as they are now", () => {
    expect(JSON.parse(compiledGuestOsMsrsJson())).toEqual({
      intel: compileGuestOsMsrs("intel", cpuidFeatureBit),
      amd: compileGuestOsMsrs("amd", cpuidFeatureBit),
    });
  });

  test("holds every MSR of the vendor's rows once, ascending, each with the rows that name it", () => {
    for (const vendor of ["intel", "amd"] as const) {
      const c = compileGuestOsMsrs(vendor, cpuidFeatureBit);
      const msrs = c.runs.flatMap(([first, last]) => Array.from({ length: last! - first! + 1 }, (_, i) => first! + i));
      const expected = [...new Set(guestOsMsrsFor(vendor).flatMap(osMsrIndices))].sort((a, b) => a - b);
      expect(msrs).toEqual(expected);
      for (const run of c.runs)
        expect(run.slice(2).map((r) => GUEST_OS_MSRS[c.rows[r]!.row])).toEqual(
          guestOsMsrsFor(vendor).filter((u) => osMsrIndices(u).includes(run[0]!)),
        );
    }
  });

  test.skipIf(fixturesMissing !== undefined)(
    `every embedded profile applied on every fixture host: the same needs as osMsrNeeds${fixturesMissing ? ` (skipped: ${fixturesMissing})` : ""}`,
    () => {
      let compared = 0;
      for (const { host } of allFixtureHosts())
        for (const name of embeddedProfileNames()) {
          const config = applyProfile(embeddedProfile(name)!, host, { checkGuestMsrs: false });
          for (const table of [config.cpuid, host.cpuid]) {
            expect({ ...osMsrNeedsOfTable(host.vendor, table) }).toEqual(
              osMsrNeeds(host.vendor, (f) => tableAdvertises(table, f)),
            );
            compared++;
          }
        }
      expect(compared).toBeGreaterThan(100);
    },
  );
});
