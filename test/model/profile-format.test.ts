// The profile format: version 2 writes CPUID adjustments one entry per (leaf, subleaf range) and
// permittedMsrs as ranges; version 1 files (Cloud Hypervisor's CPUID form, one hex string per MSR) still load.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { InputError } from "../../src/errors.ts";
import { embeddedProfile } from "../../src/embedded/profiles.ts";
import {
  MAX_PERMITTED_MSRS,
  PROFILE_FORMAT_VERSION,
  msrRangesOf,
  parseProfile,
  profileToJson,
  serializeProfile,
} from "../../src/model/profile.ts";
import { thrown } from "../helpers/thrown.ts";

const FIXTURES = join(import.meta.dir, "../fixtures");
const v1 = (name: string) => JSON.parse(readFileSync(join(FIXTURES, `profile-v1-${name}.json`), "utf8"));

describe("profile format version 2", () => {
  test("version 1 files, as released before ranges, load to the same profile as the embedded version 2 ones", () => {
    for (const name of ["skylake", "epyc-genoa"]) {
      const old = v1(name);
      expect(old.formatVersion).toBe(1);
      expect(typeof old.permittedMsrs[0]).toBe("string");
      expect(parseProfile(old, `${name}-v1.json`)).toEqual(embeddedProfile(name)!);
    }
  });

  test("the writer uses the current version and ranges: consecutive MSRs are one range, lone ones a single index", () => {
    const doc = profileToJson(embeddedProfile("skylake")!) as { formatVersion: number; permittedMsrs: string[] };
    expect(doc.formatVersion).toBe(PROFILE_FORMAT_VERSION);
    expect(doc.permittedMsrs).toContain("0x200-0x20f");
    expect(doc.permittedMsrs).toContain("0x1b");
    expect(msrRangesOf([1, 2, 3, 5, 7, 8])).toEqual(["0x1-0x3", "0x5", "0x7-0x8"]);
  });

  test("parse . serialize is the identity for any CPUID adjustments, registers of one (leaf, subleaf range) sharing an entry", () => {
    const base = embeddedProfile("skylake")!;
    const regs = ["eax", "ebx", "ecx", "edx"] as const;
    fc.assert(
      fc.property(
        fc.uniqueArray(
          fc.record({
            leaf: fc.constantFrom(0, 1, 7, 0xd, 0x80000001),
            start: fc.nat({ max: 3 }),
            reg: fc.constantFrom(...regs),
            replacements: fc.nat({ max: 0xffffffff }),
            mask: fc.oneof(fc.constant(0), fc.nat({ max: 0xffffffff })),
            all: fc.boolean(),
          }),
          { selector: (a) => `${a.leaf}:${a.reg}`, maxLength: 30 },
        ),
        (adjs) => {
          const cpuid = adjs.map((a) => ({
            leaf: a.leaf,
            subleaf: a.all ? { start: 0, end: 0xffffffff } : { start: a.start, end: a.start },
            register: a.reg,
            replacements: a.replacements,
            mask: a.mask,
          }));
          const p = { ...base, cpuid };
          const doc = JSON.parse(serializeProfile(p));
          const back = parseProfile(doc, "p.json");
          expect(serializeProfile(back)).toBe(serializeProfile(p));
          expect(back.cpuid).toHaveLength(cpuid.length);
          const keys = new Set(cpuid.map((a) => `${a.leaf}:${a.subleaf.start}:${a.subleaf.end}`));
          expect(doc.cpuid).toHaveLength(keys.size);
        },
      ),
      { numRuns: 100 },
    );
  });

  test("parse . serialize is the identity for any permitted set, and ranges are the fewest possible", () => {
    const base = embeddedProfile("skylake")!;
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.oneof(fc.nat({ max: 0x300 }), fc.nat({ max: 0xffffffff })), { maxLength: 200 }),
        (msrs) => {
          const p = { ...base, permittedMsrs: msrs };
          const back = parseProfile(JSON.parse(serializeProfile(p)), "p.json");
          const sorted = [...msrs].sort((a, b) => a - b);
          expect(back.permittedMsrs).toEqual(sorted);
          const runs = sorted.filter((x, i) => i === 0 || sorted[i - 1] !== x - 1).length;
          expect(msrRangesOf(sorted)).toHaveLength(runs);
        },
      ),
      { numRuns: 100 },
    );
  });

  test("a bad range is one clear error naming the path; a range of billions of MSRs is refused, not expanded", () => {
    const doc = profileToJson(embeddedProfile("skylake")!) as Record<string, unknown>;
    for (const bad of ["0x21f-0x200", "0x200-", "0x0200-0x21f", "0x200 - 0x21f", "0x1-0x100000000"]) {
      const e = thrown(() => parseProfile({ ...doc, permittedMsrs: [bad] }, "p.json"));
      expect(e).toBeInstanceOf(InputError);
      expect(e.message).toContain("p.json");
      expect(e.message).toContain("permittedMsrs");
    }
    const e = thrown(() => parseProfile({ ...doc, permittedMsrs: ["0x0-0xffffffff"] }, "p.json"));
    expect(e.message).toBe(`p.json: $.permittedMsrs[0]: more than ${MAX_PERMITTED_MSRS} MSRs in all`);
    // Version 1 keeps its own spelling: a range there is an error.
    expect(
      thrown(() => parseProfile({ ...doc, formatVersion: 1, permittedMsrs: ["0x10-0x12"] }, "p.json")),
    ).toBeInstanceOf(InputError);
  });
});
