import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { baselineHost } from "../../src/fleet/baseline.ts";
import { syntheticFleet } from "../../src/fleet/synthetic.ts";
import { InputError } from "../../src/errors.ts";
import { REGISTERS, findCpuid } from "../../src/model/cpuid.ts";
import { bitMask32 } from "../../src/fields/bits.ts";
import { serializeHost, type HostCapture } from "../../src/model/host.ts";
import { cpuidFieldsFor, policyFor } from "../../src/policy/index.ts";
import { effectiveValue } from "../../src/fields/rules.ts";
import { AMD, fixtureHost, FLEET, HAVE_FIXTURES, INTEL } from "./hosts.ts";
import { cpuidField, cpuidValue, msrField, msrValue } from "./policy-lookup.ts";

/** A random fleet of one vendor: real captures with random features removed, in a random order. */
const fleetArb = fc
  .record({
    intel: fc.boolean(),
    seed: fc.integer(),
    count: fc.integer({ min: 1, max: 6 }),
    removeRate: fc.double({ min: 0, max: 0.3, noNaN: true }),
  })
  .map(({ intel, seed, count, removeRate }) =>
    syntheticFleet(intel ? INTEL : AMD, { count, seed, removeRate }).map((x) => x.host),
  );

function shuffled<T>(xs: readonly T[], seed: number): T[] {
  const out = [...xs];
  let s = seed >>> 0;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe.skipIf(!HAVE_FIXTURES)("baselineHost over the real hosts", () => {
  test("Skylake + Sapphire Rapids: no avx512_fp16 or AMX, RRSBA and RSBA reported because one host has each", () => {
    const skl = fixtureHost("skylake"),
      spr = fixtureHost("sapphire-rapids");
    const b = baselineHost([skl, spr]);
    for (const name of ["avx512_fp16", "amx_tile", "amx_bf16", "amx_int8"]) {
      const f = cpuidField("intel", name);
      expect(cpuidValue(spr, f)).toBe(1);
      expect(cpuidValue(b, f)).toBe(0);
    }
    const rrsba = msrField("intel", "rrsba"),
      rsba = msrField("intel", "rsba");
    expect([msrValue(skl, rrsba), msrValue(spr, rrsba)]).toEqual([0n, 1n]);
    expect([msrValue(skl, rsba), msrValue(spr, rsba)]).toEqual([1n, 0n]);
    expect(msrValue(b, rrsba)).toBe(1n);
    expect(msrValue(b, rsba)).toBe(1n);
    // a good-news bit only Sapphire Rapids has is dropped
    expect(msrValue(spr, msrField("intel", "mds_no"))).toBe(1n);
    expect(msrValue(b, msrField("intel", "mds_no"))).toBe(0n);
  });

  test("leaves, saved MSRs and the max basic leaf shrink to what both hosts have", () => {
    const skl = fixtureHost("skylake"),
      spr = fixtureHost("sapphire-rapids");
    const b = baselineHost([skl, spr]);
    const palette = cpuidField("intel", "amx_palette_eax");
    expect(findCpuid(spr.cpuid, palette.leaf, 0)).toBeDefined();
    expect(findCpuid(b.cpuid, palette.leaf, 0)).toBeUndefined();
    expect(b.msrIndexList).toEqual(skl.msrIndexList.filter((i) => spr.msrIndexList.includes(i)));
    const maxLeaf = cpuidField("intel", "max_basic_leaf");
    expect(cpuidValue(b, maxLeaf)).toBe(Math.min(cpuidValue(skl, maxLeaf)!, cpuidValue(spr, maxLeaf)!));
    expect(b.microcode).toBeNull();
  });

  test("an Intel and an AMD host: one-line InputError naming both vendors and hosts", () => {
    const run = () =>
      baselineHost([fixtureHost("skylake"), fixtureHost("genoa")], { labels: ["skl.json", "genoa.json"] });
    expect(run).toThrow(InputError);
    expect(run).toThrow("baseline: hosts of different vendors: amd (genoa.json), intel (skl.json)");
  });

  test("hosts disagreeing on an eq field: InputError naming the field and which host has which value", () => {
    const skl = fixtureHost("skylake");
    const f = cpuidField("intel", "clflush_size");
    const odd: HostCapture = {
      ...skl,
      cpuid: skl.cpuid.map((e) =>
        e.function === f.leaf ? { ...e, [f.register]: (e[f.register] ^ (1 << f.lsb)) >>> 0 } : e,
      ),
    };
    const run = () => baselineHost([skl, odd, skl], { labels: ["a.json", "odd.json", "c.json"] });
    expect(run).toThrow(InputError);
    expect(run).toThrow(
      /clflush_size .*: 0x\w+ on odd\.json; 0x\w+ on a\.json, c\.json|clflush_size .*: 0x\w+ on a\.json, c\.json; 0x\w+ on odd\.json/,
    );
  });

  test("the baseline of one host is that host's feature bits", () => {
    for (const { host } of FLEET) {
      const b = baselineHost([host]);
      expect(b.cpuid.map((e) => [e.function, e.index, e.eax, e.ebx, e.ecx, e.edx])).toEqual(
        host.cpuid.map((e) => [e.function, e.index, e.eax, e.ebx, e.ecx, e.edx]),
      );
      expect(b.featureMsrs).toEqual(host.featureMsrs);
    }
  });

  test("property: every field obeys its compare rule against every input host, and subset fields are the exact AND", () => {
    fc.assert(
      fc.property(fleetArb, (hosts) => {
        const b = baselineHost(hosts);
        const policy = policyFor(b.vendor);
        for (const e of b.cpuid)
          for (const register of REGISTERS)
            for (const f of cpuidFieldsFor(policy, e.function, e.index, register)) {
              const m = bitMask32(f.lsb, f.msb);
              const mine = (e[register] & m) >>> 0;
              const theirs = hosts.map((h) => (findCpuid(h.cpuid, e.function, e.index)![register] & m) >>> 0);
              if (f.compare === "subset") expect(mine).toBe(theirs.reduce((x, y) => (x & y) >>> 0));
              if (f.compare === "superset") expect(mine).toBe(theirs.reduce((x, y) => (x | y) >>> 0));
              if (f.compare === "le" && !f.zeroMeans) expect(mine).toBe(Math.min(...theirs));
              if (f.compare === "le" && f.zeroMeans) {
                const eff = (v: number) => effectiveValue(f, v);
                expect(eff(e[register])).toBe(
                  Math.min(...hosts.map((h) => eff(findCpuid(h.cpuid, e.function, e.index)![register]))),
                );
              }
              if (f.compare === "eq") expect(theirs.every((t) => t === mine)).toBe(true);
            }
      }),
      { numRuns: 25 },
    );
  });

  test("property: the order of the hosts does not change a byte", () => {
    fc.assert(
      fc.property(fleetArb, fc.integer(), (hosts, seed) => {
        expect(serializeHost(baselineHost(shuffled(hosts, seed)))).toBe(serializeHost(baselineHost(hosts)));
      }),
      { numRuns: 25 },
    );
  });

  test("performance: 1,000 captures in under a second", () => {
    const hosts = syntheticFleet(INTEL, { count: 1000, seed: 7 }).map((x) => x.host);
    baselineHost(hosts.slice(0, 10)); // warm the policy index
    const t0 = performance.now();
    const b = baselineHost(hosts);
    const ms = performance.now() - t0;
    console.log(`baselineHost: 1000 captures in ${ms.toFixed(1)} ms`);
    expect(b.cpuid.length).toBeGreaterThan(0);
    expect(ms).toBeLessThan(1000);
  });
});
