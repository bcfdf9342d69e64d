// planProbe and deniedSample take shortcuts (bitmap bytes instead of filterDecision per MSR, merges and a native
// sort instead of string-keyed sets and comparator sorts): they must give exactly what the straightforward
// computation below gives, for the embedded profiles on every fixture host and for arbitrary inputs.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { embeddedProfile, embeddedProfileNames } from "../../src/embedded/profiles.ts";
import {
  MSR_FILTER_DEFAULT_ALLOW,
  MSR_FILTER_DEFAULT_DENY,
  MSR_FILTER_READ,
  MSR_FILTER_WRITE,
  type MsrFilter,
} from "../../src/kvm/index.ts";
import { CPUID_FLAG_SIGNIFICANT_INDEX, compareCpuidKey, type CpuidEntry } from "../../src/model/cpuid.ts";
import type { HostCapture } from "../../src/model/host.ts";
import { applyProfile, guestPermittedMsrs } from "../../src/profile/apply.ts";
import { filterDecision, isX2apicMsr, knownMsrsOf } from "../../src/profile/filter.ts";
import { osMsrNeeds, tableAdvertises } from "../../src/profile/guest-msrs.ts";
import { expectedMsr, type ProbedConfig } from "../../src/verify/expect.ts";
import {
  MAX_CPUID_PROBES,
  MAX_MSR_PROBES,
  type CpuidQuery,
  deniedSample,
  outOfRangeQueries,
  planProbe,
  type ProbePlan,
} from "../../src/verify/plan.ts";
import { allFixtureHosts, fixturesMissing } from "../helpers/fixtures.ts";
import { sampleConfig, sampleHost } from "./fixtures.ts";

type Host = Pick<HostCapture, "vendor" | "featureMsrs" | "msrIndexList">;

function referenceUniqueSorted(qs: readonly CpuidQuery[]): CpuidQuery[] {
  const seen = new Set<string>();
  const out: CpuidQuery[] = [];
  for (const q of [...qs].sort(compareCpuidKey)) {
    const key = `${q.function >>> 0}/${q.index >>> 0}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push({ function: q.function >>> 0, index: q.index >>> 0 });
    }
  }
  return out;
}

/** Every MSR of every range through filterDecision. */
function referenceDeniedSample(filter: MsrFilter): number[] {
  const sample: number[] = [];
  for (const r of filter.ranges) {
    let inRun = false;
    for (let i = 0; i < r.nmsrs; i++) {
      const msr = (r.base + i) >>> 0;
      const denied = !isX2apicMsr(msr) && filterDecision(filter, msr, "read") === "deny";
      if (denied && !inRun) sample.push(msr);
      inRun = denied;
    }
  }
  return sample;
}

function referencePlan(config: ProbedConfig, host: Host, permitted: readonly number[]): ProbePlan {
  const installed = config.cpuid.map((e) => ({
    function: e.function,
    index: (e.flags & CPUID_FLAG_SIGNIFICANT_INDEX) !== 0 ? e.index : 0,
  }));
  const table = referenceUniqueSorted(installed);
  const keys = new Set(table.map((q) => `${q.function}/${q.index}`));
  const extra = referenceUniqueSorted(outOfRangeQueries(config.cpuid)).filter(
    (q) => !keys.has(`${q.function}/${q.index}`),
  );
  const cpuid = referenceUniqueSorted([...table, ...extra].slice(0, MAX_CPUID_PROBES));
  const known = new Set(knownMsrsOf(host));
  const permittedSet = new Set(permitted.map((m) => m >>> 0));
  const first = [...host.featureMsrs.map((m) => m.index >>> 0), ...config.msrs.map((m) => m.index >>> 0)].sort(
    (a, b) => a - b,
  );
  const osReads = osMsrNeeds(host.vendor, (f) => tableAdvertises(config.cpuid, f))
    .needed.filter((n) => n.use.access !== "write-only")
    .map((n) => n.msr);
  const denied = config.msrFilter ? referenceDeniedSample(config.msrFilter) : [];
  const rest = [...known].filter((m) => permittedSet.has(m)).sort((a, b) => a - b);
  const msrs: number[] = [];
  const chosen = new Set<number>();
  for (const m of [...first, ...osReads, ...denied, ...rest]) {
    if (chosen.has(m) || msrs.length >= MAX_MSR_PROBES) continue;
    chosen.add(m);
    msrs.push(m);
  }
  msrs.sort((a, b) => a - b);
  // classify looks at a value only where a value is promised, or where a fault is promised (to show what was read)
  const msrValueWanted = msrs.map((m) => expectedMsr(config, host, m).kind !== "readable");
  return { cpuid, msrs, msrValueWanted };
}

const u32 = fc.nat({ max: 0xffffffff });
// MSR indices from a few clusters, so that lists overlap, ranges meet, and the x2APIC block and the top wrap are near
const msrIndex = fc.oneof(
  fc.nat({ max: 0x1000 }),
  fc.integer({ min: 0x7f0, max: 0x910 }),
  fc.integer({ min: 0xc0000000, max: 0xc0000200 }),
  fc.integer({ min: 0x4b564d00, max: 0x4b564d10 }),
  fc.integer({ min: 0xfffffff0, max: 0xffffffff }),
);

const filterArb: fc.Arbitrary<MsrFilter> = fc.record({
  flags: fc.constantFrom(MSR_FILTER_DEFAULT_ALLOW, MSR_FILTER_DEFAULT_DENY),
  ranges: fc.array(
    fc
      .record({
        flags: fc.constantFrom(0, MSR_FILTER_READ, MSR_FILTER_WRITE, MSR_FILTER_READ | MSR_FILTER_WRITE),
        base: msrIndex,
        nmsrs: fc.oneof(fc.nat({ max: 40 }), fc.nat({ max: 0x400 })),
        // short bitmaps too: bytes past the end read as 0 (deny), as filterDecision reads them
        fill: fc.constantFrom("random", "zero", "ones", "short"),
        seed: fc.array(fc.nat({ max: 255 }), { minLength: 1, maxLength: 16 }),
      })
      .map(({ flags, base, nmsrs, fill, seed }) => {
        const bytes = fill === "short" ? nmsrs >>> 4 : (nmsrs + 7) >>> 3;
        const bitmap = new Uint8Array(bytes);
        for (let i = 0; i < bytes; i++)
          bitmap[i] = fill === "zero" ? 0 : fill === "ones" ? 0xff : (seed[i % seed.length]! * (i + 1)) & 0xff;
        // long stretches of whole-byte runs as the filters cpuprof builds have them
        if (fill === "random") bitmap.fill(0xff, 0, bytes >>> 2).fill(0, bytes >>> 1, (bytes * 3) >>> 2);
        return { flags, base, nmsrs, bitmap };
      }),
    { maxLength: 6 },
  ),
});

const cpuidEntryArb: fc.Arbitrary<CpuidEntry> = fc.record({
  function: fc.oneof(
    fc.nat({ max: 0x24 }),
    fc.integer({ min: 0x40000000, max: 0x40000102 }),
    fc.integer({ min: 0x80000000, max: 0x80000026 }),
    fc.constantFrom(0xffffffff, 0x7fffffff),
  ),
  index: fc.oneof(fc.nat({ max: 4 }), fc.constant(0xffffffff)),
  flags: fc.constantFrom(0, CPUID_FLAG_SIGNIFICANT_INDEX),
  eax: fc.oneof(u32, fc.constantFrom(0xd, 0x80000008, 0x40000001, 0xffffffff)),
  ebx: u32,
  ecx: u32,
  edx: u32,
});

describe("planProbe and deniedSample against the straightforward computation", () => {
  test("deniedSample: arbitrary filters (overlapping, wrapping, x2APIC-crossing, unread ranges)", () => {
    fc.assert(
      fc.property(filterArb, (filter) => {
        expect(deniedSample(filter)).toEqual(referenceDeniedSample(filter));
      }),
      { numRuns: 400 },
    );
  });

  test("planProbe: arbitrary tables, hosts, filters and permitted lists, within and over both bounds", () => {
    fc.assert(
      fc.property(
        fc.array(cpuidEntryArb, { maxLength: 40 }),
        // around MAX_CPUID_PROBES too: the bound then cuts into the out-of-range probes
        fc.oneof(fc.nat({ max: 600 }), fc.integer({ min: MAX_CPUID_PROBES - 12, max: MAX_CPUID_PROBES + 2 })),
        fc.array(msrIndex, { maxLength: 12 }),
        fc.array(msrIndex, { maxLength: 12 }),
        fc.array(msrIndex, { maxLength: 200 }),
        // sometimes enough permitted known MSRs that the plan's MSRs reach MAX_MSR_PROBES
        fc.oneof(fc.nat({ max: 700 }), fc.integer({ min: 2 * (MAX_MSR_PROBES - 200), max: 2 * MAX_MSR_PROBES })),
        fc.array(msrIndex, { maxLength: 200 }),
        fc.option(filterArb),
        fc.constantFrom("intel" as const, "amd" as const),
        fc.boolean(),
        (cpuid, subleaves, feature, set, indexList, many, permitted, filter, vendor, descending) => {
          // a long run of subleaves and of MSRs now and then, to cross MAX_CPUID_PROBES and MAX_MSR_PROBES
          const table = [
            ...cpuid,
            ...Array.from({ length: subleaves }, (_, i) => ({
              ...cpuid[0]!,
              index: i,
              flags: CPUID_FLAG_SIGNIFICANT_INDEX,
            })).filter(() => cpuid.length),
          ];
          const host: Host = {
            vendor,
            featureMsrs: feature.map((index) => ({ index, value: 0n })),
            msrIndexList: [...indexList, ...Array.from({ length: many }, (_, i) => 0x1000 + i)],
          };
          const allowed = [...permitted, ...Array.from({ length: many >>> 1 }, (_, i) => 0x1000 + 2 * i)];
          if (descending) allowed.reverse();
          const config: ProbedConfig = {
            cpuid: table,
            msrs: set.map((index) => ({ index, value: 0n })),
            msrFilter: filter,
          };
          expect(planProbe(config, host, allowed)).toEqual(referencePlan(config, host, allowed));
        },
      ),
      { numRuns: 300 },
    );
  });

  test("planProbe: the sample configs of verify's tests", () => {
    for (const vendor of ["intel", "amd"] as const) {
      const config = sampleConfig(vendor);
      const host = sampleHost(vendor);
      const known = knownMsrsOf(host);
      expect(planProbe(config, host, known)).toEqual(referencePlan(config, host, known));
    }
  });

  test.skipIf(fixturesMissing !== undefined)(
    `planProbe: every embedded profile applied on every fixture host${fixturesMissing ? ` (skipped: ${fixturesMissing})` : ""}`,
    () => {
      let compared = 0,
        withDenials = 0;
      for (const { host } of allFixtureHosts())
        for (const name of embeddedProfileNames()) {
          const profile = embeddedProfile(name)!;
          for (const options of [{}, { hyperv: true, nested: true }]) {
            const config = applyProfile(profile, host, { ...options, checkGuestMsrs: false });
            if (!config.report.compatible) continue;
            const permitted = guestPermittedMsrs(profile, knownMsrsOf(host), options);
            const plan = planProbe(config, host, permitted);
            expect(plan).toEqual(referencePlan(config, host, permitted));
            if (config.msrFilter && deniedSample(config.msrFilter).length > 0) withDenials++;
            compared++;
          }
        }
      expect(compared).toBeGreaterThan(50);
      expect(withDenials).toBeGreaterThan(20);
    },
  );
});
