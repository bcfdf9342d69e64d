import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { CPUID_FLAG_SIGNIFICANT_INDEX, type CpuidEntry } from "../../src/model/cpuid.ts";
import { expectedCpuid, expectedMsr, resolveCpuid } from "../../src/verify/expect.ts";
import { entry, sampleConfig, sampleHost, sampleTable } from "./fixtures.ts";

const regsOf = (e: { eax: number; ebx: number; ecx: number; edx: number }) => ({
  eax: e.eax,
  ebx: e.ebx,
  ecx: e.ecx,
  edx: e.edx,
});

describe("expectedCpuid: KVM's lookup", () => {
  test("Intel: a function above its class maximum answers the max basic leaf's entry for the requested subleaf", () => {
    const t = sampleTable("intel");
    const d0 = t.find((e) => e.function === 0xd && e.index === 0)!;
    const d1 = t.find((e) => e.function === 0xd && e.index === 1)!;
    expect(expectedCpuid(t, "intel", 0x99, 0)).toEqual(regsOf(d0));
    expect(expectedCpuid(t, "intel", 0x80000099, 0)).toEqual(regsOf(d0));
    expect(expectedCpuid(t, "intel", 0xe, 1)).toEqual(regsOf(d1));
    // the KVM signature sub-class ends at 0x40000001; 0x40000002 is out of range too
    expect(resolveCpuid(t, "intel", 0x40000002, 0).rule).toBe("max-basic");
  });

  test("AMD: a function above its class maximum answers zeros", () => {
    const t = sampleTable("amd");
    for (const fn of [0xe, 0x99, 0x80000009, 0x40000002])
      expect(expectedCpuid(t, "amd", fn, 0)).toEqual({ eax: 0, ebx: 0, ecx: 0, edx: 0 });
  });

  test("an in-range function with a missing subleaf answers zeros for both vendors", () => {
    for (const vendor of ["intel", "amd"] as const) {
      expect(expectedCpuid(sampleTable(vendor), vendor, 0x7, 5)).toEqual({ eax: 0, ebx: 0, ecx: 0, edx: 0 });
      expect(expectedCpuid(sampleTable(vendor), vendor, 0x5, 0)).toEqual({ eax: 0, ebx: 0, ecx: 0, edx: 0 });
    }
  });

  test("0xB undefined subleaf: ECX[7:0] is the index, EDX comes from subleaf 1", () => {
    const t = sampleTable("amd").map((e) => (e.function === 0xb && e.index === 1 ? { ...e, edx: 0x5a } : e));
    expect(resolveCpuid(t, "amd", 0xb, 0x107)).toEqual({
      regs: { eax: 0, ebx: 0, ecx: 0x07, edx: 0x5a },
      rule: "topology-undefined-subleaf",
      source: null,
    });
  });

  test("an entry without the significant-index flag answers every subleaf", () => {
    const t = sampleTable("intel");
    const l1 = t.find((e) => e.function === 1)!;
    expect(expectedCpuid(t, "intel", 1, 42)).toEqual(regsOf(l1));
  });

  test("property: every installed entry answers its own key, and nothing else leaks into other subleaves", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("intel" as const, "amd" as const),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 7 }), fc.nat(), fc.nat(), fc.nat(), fc.nat()), { maxLength: 8 }),
        (vendor, subs) => {
          const base = sampleTable(vendor).filter((e) => e.function !== 0x4);
          const extra = [
            ...new Map(
              subs.map(([i, a, b, c, d]) => [i, entry(0x4, i, CPUID_FLAG_SIGNIFICANT_INDEX, a, b, c, d)]),
            ).values(),
          ];
          const t = [...base, ...extra];
          for (const e of t) {
            const idx = (e.flags & CPUID_FLAG_SIGNIFICANT_INDEX) !== 0 ? e.index : 0;
            expect(expectedCpuid(t, vendor, e.function, idx)).toEqual(regsOf(e));
          }
          const present = new Set(extra.map((e) => e.index));
          for (let i = 0; i < 8; i++)
            if (!present.has(i)) expect(expectedCpuid(t, vendor, 0x4, i)).toEqual({ eax: 0, ebx: 0, ecx: 0, edx: 0 });
        },
      ),
    );
  });
});

describe("expectedMsr", () => {
  const config = sampleConfig("amd");
  const host = sampleHost("amd");
  test("a value the config sets is promised exactly", () => {
    expect(expectedMsr(config, host, 0x10a)).toEqual({ kind: "value", value: 0x0c000069n });
    expect(expectedMsr(config, host, 0x8b)).toEqual({ kind: "value", value: 0x01000065n });
  });
  test("a permitted MSR without a set value is readable", () => {
    expect(expectedMsr(config, host, 0x10)).toEqual({ kind: "readable" });
  });
  test("an MSR the filter denies faults", () => {
    expect(expectedMsr(config, host, 0x1db)).toEqual({ kind: "fault", why: "filter" });
    expect(expectedMsr(config, host, 0x1dc)).toEqual({ kind: "fault", why: "filter" });
  });
  test("a permitted MSR whose enabling CPUID bit the profile hides faults (PERF_CAPABILITIES without pdcm)", () => {
    expect(expectedMsr(config, host, 0x345)).toEqual({ kind: "fault", why: "cpuid-gate" });
    const noArchCap = sampleConfig(
      "amd",
      sampleTable("amd").map((e) => (e.function === 7 && e.index === 0 ? { ...e, edx: e.edx & ~(1 << 29) } : e)),
    );
    expect(expectedMsr(noArchCap, host, 0x10a)).toEqual({ kind: "fault", why: "cpuid-gate" });
  });
});

describe("resolveCpuid's indexed lookup", () => {
  // The linear scans resolveCpuid used before its per-table index: first match in table order.
  const findEntry = (t: readonly CpuidEntry[], fn: number, index: number) =>
    t.find(
      (e) => e.function >>> 0 === fn && ((e.flags & CPUID_FLAG_SIGNIFICANT_INDEX) === 0 || e.index >>> 0 === index),
    );
  const u32 = fc.nat({ max: 0xffffffff });
  const randomEntry = fc.record({
    function: fc.constantFrom(0, 1, 4, 7, 0xb, 0xd, 0x1f, 0x40000000, 0x80000000, 0x80000001, 0x80000008),
    index: fc.nat({ max: 3 }),
    flags: fc.constantFrom(0, CPUID_FLAG_SIGNIFICANT_INDEX),
    eax: fc.oneof(fc.nat({ max: 0x20 }), fc.constant(0x80000008), u32),
    ebx: u32,
    ecx: u32,
    edx: u32,
  });
  test("property: the same answer and rule as first-match scans, on tables with duplicate and mixed-flag entries", () => {
    fc.assert(
      fc.property(
        fc.array(randomEntry, { maxLength: 25 }),
        fc.constantFrom("intel" as const, "amd" as const),
        fc.array(
          fc.record({
            fn: fc.oneof(
              randomEntry.map((e) => e.function),
              u32,
            ),
            index: fc.nat({ max: 4 }),
          }),
          { maxLength: 10 },
        ),
        (table, vendor, queries) => {
          for (const { fn, index } of queries) {
            const r = resolveCpuid(table, vendor, fn, index);
            let func = fn >>> 0,
              rule: string = "entry",
              e = findEntry(table, func, index);
            if (!e) {
              const basic = table.find((x) => x.function >>> 0 === 0);
              const base =
                func >= 0x4000_0000 && func <= 0x4fff_ffff
                  ? (func & 0xffff_ff00) >>> 0
                  : func >= 0xc000_0000
                    ? 0xc000_0000
                    : (func & 0x8000_0000) >>> 0;
              const cls = table.find((x) => x.function >>> 0 === base);
              if (basic && vendor === "intel" && !(cls && func <= cls.eax >>> 0)) {
                func = basic.eax >>> 0;
                e = findEntry(table, func, index);
                rule = "max-basic";
              }
            }
            if (e)
              expect([r.rule as string, r.regs as object]).toEqual([
                rule,
                { eax: e.eax >>> 0, ebx: e.ebx >>> 0, ecx: e.ecx >>> 0, edx: e.edx >>> 0 },
              ]);
            else expect(r.rule === "zero" || r.rule === "topology-undefined-subleaf").toBe(true);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
