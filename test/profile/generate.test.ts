// generate: deterministic, never claims more than the host has, hides what the policy hides,
// and a profile always runs on the host it came from.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { InputError } from "../../src/errors.ts";
import { REGISTERS, type CpuidEntry } from "../../src/model/cpuid.ts";
import type { HostCapture } from "../../src/model/host.ts";
import { findAdjustment, serializeProfile } from "../../src/model/profile.ts";
import { policyFor } from "../../src/policy/index.ts";
import { checkCompatibility } from "../../src/profile/compat.ts";
import { generateProfile, hostProfile, mergeAdjacent } from "../../src/profile/generate.ts";
import { FIXTURE_HOSTS, fixtureHost, fixturesMissing } from "../helpers/fixtures.ts";
import { entry, host, INTEL_SIG } from "./apply-helpers.ts";

const skip = fixturesMissing !== undefined;
const title = (t: string) => (skip ? `${t} (skipped: ${fixturesMissing})` : t);

/** A fixture host with random bits cleared in its registers (KVM offering less). */
const arbHost = fc
  .record({
    which: fc.integer({ min: 0, max: FIXTURE_HOSTS.length - 1 }),
    clear: fc.array(fc.tuple(fc.nat(), fc.constantFrom(...REGISTERS), fc.integer({ min: 0, max: 31 })), {
      maxLength: 40,
    }),
  })
  .map(({ which, clear }): HostCapture => {
    const h = fixtureHost(FIXTURE_HOSTS[which]!.name);
    const cpuid: CpuidEntry[] = h.cpuid.map((e) => ({ ...e }));
    for (const [i, reg, bit] of clear) {
      const e = cpuid[i % cpuid.length]!;
      e[reg] = (e[reg] & ~(1 << bit)) >>> 0;
    }
    return { ...h, cpuid };
  });

describe.skipIf(skip)(title("generate on the fixture hosts"), () => {
  test("is deterministic: same capture, byte-identical profile", () => {
    fc.assert(
      fc.property(
        arbHost,
        (h) =>
          serializeProfile(generateProfile(h, { name: "p" }).profile) ===
          serializeProfile(generateProfile(structuredClone(h), { name: "p" }).profile),
      ),
      { numRuns: 25 },
    );
  });

  test("fixed feature bits never exceed what the capture supports", () => {
    fc.assert(
      fc.property(arbHost, (h) => {
        const { profile } = generateProfile(h, { name: "p" });
        for (const f of policyFor(h.vendor).cpuid) {
          if (f.action.kind !== "inherit" || f.compare !== "subset") continue;
          for (const e of h.cpuid.filter(
            (x) => x.function === f.leaf && x.index >= f.subleaves.start && x.index <= f.subleaves.end,
          )) {
            const adj = findAdjustment(profile, e.function, e.index, f.register);
            const fieldBits = ((adj?.replacements ?? 0) >>> f.lsb) & ((1 << (f.msb - f.lsb + 1)) - 1 || 0xffffffff);
            const hostBits = (e[f.register] >>> f.lsb) & ((1 << (f.msb - f.lsb + 1)) - 1 || 0xffffffff);
            if ((fieldBits & ~hostBits) !== 0) return false;
          }
        }
        return true;
      }),
      { numRuns: 25 },
    );
  });

  test("every static-hidden field is 0 in every generated profile", () => {
    fc.assert(
      fc.property(arbHost, (h) => {
        const { profile } = generateProfile(h, { name: "p" });
        for (const f of policyFor(h.vendor).cpuid) {
          if (f.action.kind !== "static" || f.action.value !== 0) continue;
          for (const a of profile.cpuid.filter(
            (x) =>
              x.leaf === f.leaf &&
              x.register === f.register &&
              x.subleaf.end >= f.subleaves.start &&
              x.subleaf.start <= f.subleaves.end,
          )) {
            const bits = ((a.replacements | a.mask) >>> f.lsb) & ((1 << (f.msb - f.lsb + 1)) - 1 || 0xffffffff);
            if (bits !== 0) return false;
          }
        }
        return true;
      }),
      { numRuns: 25 },
    );
  });

  test("a profile generated from a host is compatible with that host", () => {
    fc.assert(
      fc.property(arbHost, (h) => checkCompatibility(generateProfile(h, { name: "p" }).profile, h).compatible),
      { numRuns: 25 },
    );
  });

  test("clearing on the host a feature the profile sets makes it incompatible, naming that feature", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: FIXTURE_HOSTS.length - 1 }), fc.nat(), (which, pick) => {
        const h = fixtureHost(FIXTURE_HOSTS[which]!.name);
        const { profile } = generateProfile(h, { name: "p" });
        const candidates = policyFor(h.vendor).cpuid.filter((f) => {
          if (f.action.kind !== "inherit" || f.compare !== "subset" || f.lsb !== f.msb || f.nested) return false;
          const a = findAdjustment(profile, f.leaf, f.subleaves.start, f.register);
          return a !== undefined && ((a.replacements >>> f.lsb) & 1) === 1;
        });
        const f = candidates[pick % candidates.length]!;
        const cpuid = h.cpuid.map((e) =>
          e.function === f.leaf && e.index >= f.subleaves.start && e.index <= f.subleaves.end
            ? { ...e, [f.register]: (e[f.register] & ~(1 << f.lsb)) >>> 0 }
            : e,
        );
        const report = checkCompatibility(profile, { ...h, cpuid });
        return !report.compatible && report.problems.some((p) => p.name === f.name && p.kind === "feature-missing");
      }),
      { numRuns: 40 },
    );
  });

  test("Skylake: MPX and TSX hidden, AVX-512 kept, x2APIC forced on, topology passed through, summary in feature names", () => {
    const h = fixtureHost("skylake");
    const { profile, unknown, summary } = generateProfile(h, { name: "skylake" });
    expect(unknown).toEqual([]);
    const leaf7ebx = findAdjustment(profile, 7, 0, "ebx")!;
    expect(leaf7ebx.replacements & (1 << 14)).toBe(0); // mpx
    expect(leaf7ebx.replacements & (1 << 11)).toBe(0); // rtm
    expect(leaf7ebx.replacements & (1 << 16)).toBe(1 << 16); // avx512f
    expect(findAdjustment(profile, 1, 0, "ecx")!.replacements & (1 << 21)).toBe(1 << 21);
    expect(findAdjustment(profile, 0xb, 5, "edx")).toMatchObject({
      mask: 0xffffffff,
      subleaf: { start: 0, end: 0xffffffff },
    });
    expect(summary.hidden.map((h) => h.name)).toEqual(expect.arrayContaining(["mpx", "hle", "rtm"]));
    expect(summary.hidden.find((h) => h.name === "mpx")!.why).toContain("MPX");
    expect(summary.kept).toEqual(expect.arrayContaining(["avx512f", "x2apic", "rsba", "rrsba"]));
    // Left to the host: the passthrough fields (topology, caches), never the features the profile fixes.
    expect(summary.leftToHost.length).toBeGreaterThan(0);
    for (const name of [...summary.kept, ...summary.hidden.map((h) => h.name)])
      expect(summary.leftToHost).not.toContain(name);
    expect(profile.sourceHosts).toEqual([
      { model: expect.stringContaining("Xeon"), microcode: "0x2007006", kernel: h.kernel },
    ]);
    expect(profile.permittedMsrs).toContain(0x4b564d01);
    expect(profile.permittedMsrs).toContain(0x2ff); // MTRR default type: implicit
    expect(profile.permittedMsrs).not.toContain(0xd90); // MPX BNDCFGS
  });

  test("no all-zero adjustments; leaves with the same rule for every subleaf use 0..0xffffffff", () => {
    for (const { name } of FIXTURE_HOSTS) {
      const { profile } = generateProfile(fixtureHost(name), { name });
      expect(profile.cpuid.filter((a) => a.mask === 0 && a.replacements === 0)).toEqual([]);
      for (const a of profile.cpuid.filter((x) => [0x1, 0x4, 0xb, 0x80000001].includes(x.leaf)))
        expect(a.subleaf).toEqual({ start: 0, end: 0xffffffff });
    }
  });
});

describe("generate on synthetic captures", () => {
  const base = host(
    [
      entry(0, 0, { eax: 7, ...INTEL_SIG }),
      entry(0x99, 0, { eax: 1 }),
      entry(7, 0, { ebx: (1 << 22) | (1 << 15) | (1 << 12) | 1, ecx: 1 << 15 }, 1),
    ],
    { featureMsrs: [{ index: 0x12345, value: 1n }], msrIndexList: [0x10, 0x9999] },
  );

  test("unknown leaves, bits and MSRs are hidden and listed; strict refuses them", () => {
    const { profile, unknown } = generateProfile(base, { name: "x" });
    expect(unknown.map((u) => u.kind).sort()).toEqual(["bits", "leaf", "msr", "msr"]);
    expect(unknown.find((u) => u.kind === "bits")).toMatchObject({ leaf: 7, register: "ecx", bits: 1 << 15 });
    expect(profile.cpuid.some((a) => a.leaf === 0x99)).toBe(false);
    const ecx = findAdjustment(profile, 7, 0, "ecx");
    expect(((ecx?.replacements ?? 0) | (ecx?.mask ?? 0)) & (1 << 15)).toBe(0);
    expect(profile.msrs).toEqual([]);
    expect(profile.permittedMsrs).not.toContain(0x9999);
    expect(() => generateProfile(base, { name: "x", strict: true })).toThrow(InputError);
  });

  test("adjacent identical subleaf ranges merge; different ones stay apart", () => {
    const adj = (start: number, end: number, replacements: number) => ({
      leaf: 4,
      subleaf: { start, end },
      register: "eax" as const,
      replacements,
      mask: 0,
    });
    expect(mergeAdjacent([adj(2, 2, 5), adj(0, 1, 5), adj(3, 9, 6)])).toEqual([adj(0, 2, 5), adj(3, 9, 6)]);
  });

  test("hostProfile is kind host with nothing to adjust", () => {
    expect(hostProfile("amd")).toMatchObject({ kind: "host", vendor: "amd", cpuid: [], msrs: [], permittedMsrs: [] });
  });
});
