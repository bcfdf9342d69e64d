import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { baselineHost } from "../../src/fleet/baseline.ts";
import { baselineProfile } from "../../src/fleet/baseline-profile.ts";
import { syntheticFleet } from "../../src/fleet/synthetic.ts";
import { REGISTERS } from "../../src/model/cpuid.ts";
import type { HostCapture } from "../../src/model/host.ts";
import { serializeProfile } from "../../src/model/profile.ts";
import { cpuidFieldsFor, msrFieldsFor, policyFor } from "../../src/policy/index.ts";
import { checkCompatibility } from "../../src/profile/compat.ts";
import { generateProfile } from "../../src/profile/generate.ts";
import { AMD, fixtureHost, HAVE_FIXTURES, INTEL } from "./hosts.ts";
import { cpuidField } from "./policy-lookup.ts";

const fleetArb = fc
  .record({
    intel: fc.boolean(),
    seed: fc.integer(),
    count: fc.integer({ min: 1, max: 5 }),
    removeRate: fc.double({ min: 0, max: 0.2, noNaN: true }),
  })
  .map(({ intel, seed, count, removeRate }) =>
    syntheticFleet(intel ? INTEL : AMD, { count, seed, removeRate }).map((x) => x.host),
  );

/** A bit the baseline dropped although some input host has it: an inherited subset feature. */
type Dropped =
  | { cpuid: { entry: number; register: (typeof REGISTERS)[number]; bit: number } }
  | { msr: { index: number; bit: number } };

function droppedBits(b: HostCapture, hosts: readonly HostCapture[]): Dropped[] {
  const policy = policyFor(b.vendor);
  const out: Dropped[] = [];
  b.cpuid.forEach((e, entry) => {
    for (const register of REGISTERS)
      for (const f of cpuidFieldsFor(policy, e.function, e.index, register)) {
        if (f.compare !== "subset" || f.action.kind !== "inherit") continue;
        for (let bit = f.lsb; bit <= f.msb; bit++) {
          const someHas = hosts.some(
            (h) =>
              ((h.cpuid.find((x) => x.function === e.function && x.index === e.index)![register] >>> bit) & 1) === 1,
          );
          if (((e[register] >>> bit) & 1) === 0 && someHas) out.push({ cpuid: { entry, register, bit } });
        }
      }
  });
  for (const m of b.featureMsrs)
    for (const f of msrFieldsFor(policy, m.index)) {
      if (f.compare !== "subset" || f.action.kind !== "inherit") continue;
      for (let bit = f.lsb; bit <= f.msb; bit++) {
        const mask = 1n << BigInt(bit);
        if (
          (m.value & mask) === 0n &&
          hosts.some((h) => (h.featureMsrs.find((x) => x.index === m.index)!.value & mask) !== 0n)
        )
          out.push({ msr: { index: m.index, bit } });
      }
    }
  return out;
}

function withBit(b: HostCapture, d: Dropped): HostCapture {
  if ("cpuid" in d) {
    const { entry, register, bit } = d.cpuid;
    return {
      ...b,
      cpuid: b.cpuid.map((e, i) => (i === entry ? { ...e, [register]: (e[register] | (1 << bit)) >>> 0 } : e)),
    };
  }
  return {
    ...b,
    featureMsrs: b.featureMsrs.map((m) =>
      m.index === d.msr.index ? { ...m, value: m.value | (1n << BigInt(d.msr.bit)) } : m,
    ),
  };
}

describe.skipIf(!HAVE_FIXTURES)("baselineProfile", () => {
  test("Skylake + Sapphire Rapids: the profile hides avx512_fp16, runs on both, and names both hosts", () => {
    const skl = fixtureHost("skylake"),
      spr = fixtureHost("sapphire-rapids");
    const { profile } = baselineProfile([spr, skl], { name: "skl-spr" });
    const fp16 = cpuidField("intel", "avx512_fp16");
    const adj = profile.cpuid.find(
      (a) =>
        a.leaf === fp16.leaf &&
        a.register === fp16.register &&
        a.subleaf.start <= fp16.subleaves.start &&
        fp16.subleaves.start <= a.subleaf.end,
    );
    expect(adj === undefined || ((adj.replacements >>> fp16.lsb) & 1) === 0).toBe(true);
    expect(checkCompatibility(profile, skl).compatible).toBe(true);
    expect(checkCompatibility(profile, spr).compatible).toBe(true);
    expect(profile.sourceHosts.map((s) => s.microcode)).toEqual([spr.microcode, skl.microcode]); // sorted by model text
    expect(profile.description).toContain("Baseline of 2 hosts");
    // the Sapphire Rapids host's own profile does not run on Skylake
    expect(checkCompatibility(generateProfile(spr, { name: "spr" }).profile, skl).compatible).toBe(false);
  });

  test("property: the baseline profile is compatible with every input host", () => {
    fc.assert(
      fc.property(fleetArb, (hosts) => {
        const { profile } = baselineProfile(hosts, { name: "fleet" });
        for (const h of hosts) {
          const report = checkCompatibility(profile, h, { nested: true });
          expect(report.problems).toEqual([]);
          expect(report.compatible).toBe(true);
        }
      }),
      { numRuns: 20 },
    );
  });

  test("property: it is maximal: re-adding any feature it dropped that some host has makes some host incompatible", () => {
    fc.assert(
      fc.property(fleetArb, fc.integer({ min: 0 }), (hosts, pick) => {
        const b = baselineHost(hosts);
        const dropped = droppedBits(b, hosts);
        for (let k = 0; k < Math.min(6, dropped.length); k++) {
          const d = dropped[(pick + k * 7919) % dropped.length]!;
          const { profile } = generateProfile(withBit(b, d), { name: "plus-one" });
          expect(hosts.some((h) => !checkCompatibility(profile, h, { nested: true }).compatible)).toBe(true);
        }
      }),
      { numRuns: 15 },
    );
  });

  test("property: permuting the inputs does not change a byte of the profile", () => {
    fc.assert(
      fc.property(fleetArb, (hosts) => {
        const reversed = [...hosts].reverse();
        const rotated = [...hosts.slice(1), ...hosts.slice(0, 1)];
        const bytes = serializeProfile(baselineProfile(hosts, { name: "fleet" }).profile);
        expect(serializeProfile(baselineProfile(reversed, { name: "fleet" }).profile)).toBe(bytes);
        expect(serializeProfile(baselineProfile(rotated, { name: "fleet" }).profile)).toBe(bytes);
      }),
      { numRuns: 20 },
    );
  });

  test("performance: the profile of 1,000 captures in under a second", () => {
    const hosts = syntheticFleet(INTEL, { count: 1000, seed: 11 }).map((x) => x.host);
    baselineProfile(hosts.slice(0, 5), { name: "warm" });
    const t0 = performance.now();
    const { profile } = baselineProfile(hosts, { name: "fleet" });
    const ms = performance.now() - t0;
    console.log(`baselineProfile: 1000 captures in ${ms.toFixed(1)} ms`);
    // Each distinct source host once, counted: the counts add up to the 1,000 captures.
    expect(profile.sourceHosts.length).toBeLessThan(1000);
    expect(profile.sourceHosts.reduce((a, s) => a + (s.count ?? 1), 0)).toBe(1000);
    expect(ms).toBeLessThan(1000);
  });
});
