// The compiled compatibility checker gives exactly the reference's report: over every embedded profile
// x every fixture host (both kernels), with and without nested, and over random hosts and profiles made
// by changing register bits, dropping entries and adding subleaves. A change of compare semantics in the
// policy or in compat.ts either flows through the compiled form or fails here.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { embeddedProfile, embeddedProfileNames } from "../../src/embedded/profiles.ts";
import { loadHostFile } from "../../src/formats/host-file.ts";
import { INDEXED_LEAVES, type CpuidEntry } from "../../src/model/cpuid.ts";
import type { HostCapture } from "../../src/model/host.ts";
import type { Profile } from "../../src/model/profile.ts";
import { checkCompatibility, type CompatReport } from "../../src/profile/compat.ts";
import { compileCompatibility, type CompiledCompatibility } from "../../src/profile/compat-compiled.ts";
import { FIRECRACKER_HOSTS_DIR, fixturesMissing } from "../helpers/fixtures.ts";

const profiles = (): Profile[] => embeddedProfileNames().map((n) => embeddedProfile(n)!);
const hosts = (): HostCapture[] =>
  readdirSync(FIRECRACKER_HOSTS_DIR)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => loadHostFile(readFileSync(join(FIRECRACKER_HOSTS_DIR, f), "utf8"), f));

const REGS = ["eax", "ebx", "ecx", "edx"] as const;
const u32 = fc.nat({ max: 0xffffffff });

/** A host changed as fleets differ: register bits flipped, entries dropped, subleaves added, feature MSRs changed. */
const hostChange = fc.record({
  // Mostly single bits: a register that fails in one field only is where a wrong mask would show.
  flips: fc.array(
    fc.record({
      at: fc.nat(),
      reg: fc.constantFrom(...REGS),
      bits: fc.oneof(
        fc.nat({ max: 31 }).map((b) => (1 << b) >>> 0),
        fc.nat({ max: 31 }).map((b) => (1 << b) >>> 0),
        u32,
      ),
    }),
    { maxLength: 6 },
  ),
  drops: fc.array(fc.nat(), { maxLength: 3 }),
  adds: fc.array(
    fc.record({
      leaf: fc.constantFrom(...INDEXED_LEAVES),
      subleaf: fc.nat({ max: 70 }),
      values: fc.tuple(u32, u32, u32, u32),
    }),
    { maxLength: 4 },
  ),
  msrBits: fc.array(fc.record({ at: fc.nat(), bits: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) }), { maxLength: 3 }),
});

function changeHost(base: HostCapture, c: typeof hostChange extends fc.Arbitrary<infer T> ? T : never): HostCapture {
  let cpuid: CpuidEntry[] = base.cpuid.map((e) => ({ ...e }));
  for (const f of c.flips)
    if (cpuid.length) {
      const e = cpuid[f.at % cpuid.length]!;
      e[f.reg] = (e[f.reg] ^ f.bits) >>> 0;
    }
  for (const d of c.drops) if (cpuid.length) cpuid = cpuid.filter((_, i) => i !== d % cpuid.length);
  for (const a of c.adds)
    cpuid.push({
      function: a.leaf,
      index: a.subleaf,
      flags: 1,
      eax: a.values[0],
      ebx: a.values[1],
      ecx: a.values[2],
      edx: a.values[3],
    });
  const featureMsrs = base.featureMsrs.map((m) => ({ ...m }));
  for (const m of c.msrBits)
    if (featureMsrs.length) {
      const x = featureMsrs[m.at % featureMsrs.length]!;
      x.value ^= m.bits;
    }
  return { ...base, cpuid, featureMsrs };
}

/** A profile changed: adjustments' masks and replacements flipped. */
const bit = fc.nat({ max: 31 }).map((b) => (1 << b) >>> 0);
const profileChange = fc.array(
  fc.record({ at: fc.nat(), mask: fc.oneof(fc.constant(0), bit, u32), repl: fc.oneof(bit, u32) }),
  { maxLength: 4 },
);
function changeProfile(base: Profile, c: { at: number; mask: number; repl: number }[]): Profile {
  const cpuid = base.cpuid.map((a) => ({ ...a }));
  for (const x of c)
    if (cpuid.length) {
      const a = cpuid[x.at % cpuid.length]!;
      a.mask = (a.mask ^ x.mask) >>> 0;
      a.replacements = (a.replacements ^ x.repl) >>> 0;
    }
  return { ...base, cpuid };
}

/** The compiled checker against the reference: the whole report, and the verdict with the problems' names (each once, in order). */
function expectReference(compiled: CompiledCompatibility, host: HostCapture, nested = false): CompatReport {
  const want = checkCompatibility(compiled.profile, host, { nested });
  expect(compiled.check(host)).toEqual(want);
  expect(compiled.missing(host)).toEqual({
    compatible: want.compatible,
    missing: [...new Set(want.problems.map((p) => p.name))],
  });
  return want;
}

describe.skipIf(fixturesMissing !== undefined)("compiled compatibility", () => {
  test("every embedded profile x every fixture host, nested or not: the reference's report exactly", () => {
    const hs = hosts();
    let incompatible = 0;
    for (const nested of [false, true])
      for (const p of profiles()) {
        const compiled = compileCompatibility(p, { nested });
        for (const h of hs) if (!expectReference(compiled, h, nested).compatible) incompatible++;
      }
    expect(incompatible).toBeGreaterThan(10); // the comparison covers failing cells, not only passing ones
  });

  test("random hosts and profiles: the reference's report exactly", () => {
    const hs = hosts(),
      ps = profiles();
    fc.assert(
      fc.property(fc.nat(), fc.nat(), hostChange, profileChange, fc.boolean(), (hi, pi, hc, pc, nested) => {
        const host = changeHost(hs[hi % hs.length]!, hc);
        const profile = changeProfile(ps[pi % ps.length]!, pc);
        expectReference(compileCompatibility(profile, { nested }), host, nested);
      }),
      { numRuns: 1000 },
    );
  });

  test("every single bit of a profile's adjustments and of its host's registers and feature MSRs, flipped: the reference's report exactly", () => {
    // One field failing alone is where a wrong mask would show (elsewhere the failing register is evaluated field by field).
    const byName = new Map(hosts().map((h) => [h.vendor === "intel" ? "i" : "a", h] as const));
    for (const [name, file] of [
      ["skylake", "fingerprint_INTEL_SKYLAKE_6.1host.json"],
      ["epyc-milan", "fingerprint_AMD_MILAN_6.1host.json"],
    ] as const) {
      const host = loadHostFile(readFileSync(join(FIRECRACKER_HOSTS_DIR, file), "utf8"), file);
      const base = embeddedProfile(name)!;
      for (let i = 0; i < base.cpuid.length; i++)
        for (let b = 0; b < 32; b++) {
          const profile = {
            ...base,
            cpuid: base.cpuid.map((a, k) => (k === i ? { ...a, replacements: (a.replacements ^ (1 << b)) >>> 0 } : a)),
          };
          expectReference(compileCompatibility(profile), host);
        }
      const compiled = compileCompatibility(base);
      for (let i = 0; i < host.cpuid.length; i++)
        for (const reg of REGS) {
          const e = host.cpuid[i]!;
          if (
            !base.cpuid.some(
              (a) =>
                a.leaf === e.function && a.register === reg && e.index >= a.subleaf.start && e.index <= a.subleaf.end,
            )
          )
            continue;
          for (let b = 0; b < 32; b++) {
            const changed = {
              ...host,
              cpuid: host.cpuid.map((e, k) => (k === i ? { ...e, [reg]: (e[reg] ^ (1 << b)) >>> 0 } : e)),
            };
            expectReference(compiled, changed);
          }
        }
      for (let i = 0; i < host.featureMsrs.length; i++)
        for (let b = 0n; b < 64n; b++) {
          const changed = {
            ...host,
            featureMsrs: host.featureMsrs.map((m, k) => (k === i ? { ...m, value: m.value ^ (1n << b) } : m)),
          };
          expectReference(compiled, changed);
        }
      for (let i = 0; i < base.msrs.length; i++)
        for (let b = 0n; b < 64n; b++) {
          const profile = {
            ...base,
            msrs: base.msrs.map((m, k) => (k === i ? { ...m, replacements: m.replacements ^ (1n << b) } : m)),
          };
          expectReference(compileCompatibility(profile), host);
        }
    }
    expect(byName.size).toBe(2);
  }, 60_000);

  test("one compiled profile checks many hosts, in any order, with the same results", () => {
    const hs = hosts();
    const p = embeddedProfile("skylake")!;
    const compiled = compileCompatibility(p);
    const forward = hs.map((h) => compiled.check(h));
    const backward = [...hs]
      .reverse()
      .map((h) => compiled.check(h))
      .reverse();
    expect(backward).toEqual(forward);
  });
});
