import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { CPUID_FLAG_SIGNIFICANT_INDEX } from "../../src/model/cpuid.ts";
import { buildMsrFilter, filterDecision, knownMsrsOf } from "../../src/profile/filter.ts";
import { MAX_CPUID_PROBES, MAX_MSR_PROBES, planProbe } from "../../src/verify/plan.ts";
import { entry, SAMPLE_PERMITTED, sampleConfig, sampleHost, sampleTable } from "./fixtures.ts";

const has = (qs: { function: number; index: number }[], fn: number, index: number) =>
  qs.some((q) => q.function === fn && q.index === index);

describe("planProbe", () => {
  const config = sampleConfig("intel");
  const host = sampleHost("intel");
  const plan = planProbe(config, host, SAMPLE_PERMITTED);

  test("asks CPUID for every leaf/subleaf of the applied table", () => {
    for (const e of config.cpuid)
      expect(has(plan.cpuid, e.function, (e.flags & CPUID_FLAG_SIGNIFICANT_INDEX) !== 0 ? e.index : 0)).toBe(true);
  });

  test("asks just past each limit: max basic, max extended, max hypervisor, max subleaf of indexed leaves", () => {
    expect(has(plan.cpuid, 0xe, 0)).toBe(true);
    expect(has(plan.cpuid, 0x80000009, 0)).toBe(true);
    expect(has(plan.cpuid, 0x40000002, 0)).toBe(true);
    expect(has(plan.cpuid, 0x7, 2)).toBe(true);
    expect(has(plan.cpuid, 0xd, 2)).toBe(true);
    expect(has(plan.cpuid, 0xb, 2)).toBe(true);
  });

  test("reads every permitted MSR the host knows and every feature MSR", () => {
    const known = new Set(knownMsrsOf(host));
    for (const m of SAMPLE_PERMITTED) if (known.has(m)) expect(plan.msrs).toContain(m);
    for (const m of host.featureMsrs) expect(plan.msrs).toContain(m.index);
  });

  test("samples the denied MSRs: the KVM PV MSRs, LBRs and MTRRs are probed", () => {
    for (const m of [0x4b564d00, 0x1d9, 0x200]) expect(plan.msrs).toContain(m);
  });

  test("is deterministic and sorted", () => {
    expect(planProbe(config, host, [...SAMPLE_PERMITTED].reverse())).toEqual(plan);
    expect([...plan.msrs].sort((a, b) => a - b)).toEqual(plan.msrs);
  });

  test("stays within 512 probes of each kind for a huge table and a huge permitted list", () => {
    const big = [
      ...sampleTable("intel"),
      ...Array.from({ length: 900 }, (_, i) => entry(0x4, i, CPUID_FLAG_SIGNIFICANT_INDEX, 1, 2, 3, 4)),
    ];
    const manyKnown = { ...host, msrIndexList: Array.from({ length: 2000 }, (_, i) => 0x1000 + i) };
    const p = planProbe({ ...config, cpuid: big }, manyKnown, manyKnown.msrIndexList);
    expect(p.cpuid.length).toBeLessThanOrEqual(MAX_CPUID_PROBES);
    expect(p.msrs.length).toBeLessThanOrEqual(MAX_MSR_PROBES);
    for (const m of host.featureMsrs) expect(p.msrs).toContain(m.index); // feature MSRs survive the bound
  });

  test("property: every contiguous denied run of the filter gets a probe, and every permitted known MSR is read", () => {
    const known = knownMsrsOf(host);
    fc.assert(
      fc.property(fc.subarray(known), (permitted) => {
        const filter = buildMsrFilter(known, permitted);
        const p = planProbe({ ...config, msrFilter: filter }, host, permitted);
        const denied = known.filter((m) => filterDecision(filter, m, "read") === "deny");
        // each maximal run of consecutive denied indices within `known`'s order has at least one probe
        const probed = new Set(p.msrs);
        let runHasProbe = true,
          inRun = false;
        for (let m = known[0]!; m <= 0x3000; m++) {
          const d = filterDecision(filter, m, "read") === "deny";
          if (d && !inRun) runHasProbe = false;
          if (d && probed.has(m)) runHasProbe = true;
          if (!d && inRun) expect(runHasProbe).toBe(true);
          inRun = d;
        }
        for (const m of permitted) expect(probed.has(m)).toBe(true);
        expect(denied.length === 0 || p.msrs.some((m) => filterDecision(filter, m, "read") === "deny")).toBe(true);
      }),
      { numRuns: 60 },
    );
  });
});
