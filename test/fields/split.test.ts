// fields: the one split of registers and feature MSRs, the views, and the baseline's rules built from the split.
import { profile as testProfile } from "../profile/apply-helpers.ts";
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { cpuidBitName, cpuidBitsName } from "../../src/catalogue/index.ts";
import { bitMask32 } from "../../src/fields/bits.ts";
import { registerRule } from "../../src/fields/combine.ts";
import {
  cover,
  splitMsr,
  splitRegister,
  splitRegisterBits,
  unknownBits32,
  type Field,
} from "../../src/fields/split.ts";
import { featureView, tableView } from "../../src/fields/view.ts";
import { REGISTERS, findCpuid, type CpuidEntry, type Register } from "../../src/model/cpuid.ts";
import { cpuidFieldsFor, featureMsrsOf, policyFor } from "../../src/policy/index.ts";
import { BUN, REPO } from "../helpers/sources.ts";

const VENDORS = ["intel", "amd"] as const;
/** Every (leaf, first subleaf, register) a policy has a field for. */
const policyKeys = VENDORS.flatMap((vendor) =>
  [...new Set(policyFor(vendor).cpuid.map((f) => `${f.leaf}:${f.subleaves.start}:${f.register}`))].map((k) => {
    const [leaf, subleaf, register] = k.split(":");
    return { vendor, leaf: Number(leaf), subleaf: Number(subleaf), register: register as Register };
  }),
);

const popcount = (m: number) => [...Array(32).keys()].filter((b) => (m >>> b) & 1).length;

/** How many fields of `fields` cover each bit. */
function coverage(fields: readonly { lsb: number; msb: number }[], width: number): number[] {
  const n = new Array<number>(width).fill(0);
  for (const f of fields) for (let b = f.lsb; b <= f.msb; b++) n[b]!++;
  return n;
}

/**
 * cover's rule worked out here on masks: fields in order, each kept unless it is out of 0..31 or overlaps a field
 * kept before, then every bit none covers on its own; by lsb.
 */
function maskCover<F extends { lsb: number; msb: number }>(fields: readonly F[]) {
  const out: { lsb: number; msb: number; field?: F }[] = [];
  let covered = 0;
  for (const f of fields) {
    const mask = f.lsb >= 0 && f.msb <= 31 && f.lsb <= f.msb ? bitMask32(f.lsb, f.msb) : 0;
    if (mask === 0 || (covered & mask) !== 0) continue;
    covered |= mask;
    out.push({ lsb: f.lsb, msb: f.msb, field: f });
  }
  for (let bit = 0; bit < 32; bit++) if (((covered >>> bit) & 1) === 0) out.push({ lsb: bit, msb: bit });
  return out.sort((a, b) => a.lsb - b.lsb);
}

describe("the split of a register", () => {
  test("covers each of the 32 bits exactly once, ordered by bit, for every register any policy names", () => {
    for (const k of policyKeys) {
      const fields = splitRegister(k.vendor, k.leaf, k.subleaf, k.register);
      expect(coverage(fields, 32)).toEqual(new Array(32).fill(1));
      expect(fields.map((f) => f.lsb)).toEqual([...fields.map((f) => f.lsb)].sort((a, b) => a - b));
    }
  });

  test("covers every bit once for any leaf, subleaf and register, known to the policy or not", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...VENDORS),
        fc.oneof(fc.integer({ min: 0, max: 0x30 }), fc.integer({ min: 0x80000000, max: 0x80000030 })),
        fc.nat({ max: 70 }),
        fc.constantFrom(...REGISTERS),
        (vendor, leaf, subleaf, register) => {
          expect(coverage(splitRegister(vendor, leaf, subleaf, register), 32)).toEqual(new Array(32).fill(1));
        },
      ),
      { numRuns: 300 },
    );
  });

  test("names every field as the catalogue names its bits (or by location), the policy's fields keeping their rule", () => {
    for (const k of policyKeys) {
      const policyFields = cpuidFieldsFor(policyFor(k.vendor), k.leaf, k.subleaf, k.register);
      for (const f of splitRegister(k.vendor, k.leaf, k.subleaf, k.register)) {
        expect(f.name).toBe(cpuidBitsName(k.leaf, k.subleaf, k.register, f.lsb, f.msb));
        const p = policyFields.find((x) => x.lsb === f.lsb && x.msb === f.msb);
        if (f.unknown) expect([p, f.compare, f.action]).toEqual([undefined, "subset", undefined]);
        else expect([f.compare, f.action]).toEqual([p!.compare, p!.action]);
      }
    }
  });

  test("the bits the policy does not know are exactly its unknown fields", () => {
    // leaf 0x3 (the processor serial number) is in no policy
    for (const vendor of VENDORS) {
      expect(unknownBits32(vendor, 0x3, 0, "eax")).toBe(0xffffffff);
      for (const k of policyKeys.filter((x) => x.vendor === vendor)) {
        const covered = cpuidFieldsFor(policyFor(vendor), k.leaf, k.subleaf, k.register).reduce(
          (m, f) => m | bitMask32(f.lsb, f.msb),
          0,
        );
        expect(unknownBits32(vendor, k.leaf, k.subleaf, k.register)).toBe(~covered >>> 0);
      }
    }
  });

  test("property: the split of some bits is exactly the fields of the whole split holding one of them, in order", () => {
    const key = fc.oneof(
      fc.constantFrom(...policyKeys),
      fc.record({
        vendor: fc.constantFrom(...VENDORS),
        leaf: fc.oneof(fc.integer({ min: 0, max: 0x24 }), fc.integer({ min: 0x8000_0000, max: 0x8000_0026 })),
        subleaf: fc.integer({ min: 0, max: 70 }),
        register: fc.constantFrom(...REGISTERS),
      }),
    );
    const bits = fc.oneof(
      fc.integer({ min: 0, max: 31 }).map((b) => (1 << b) >>> 0),
      fc.integer({ min: 0, max: 0xffff_ffff }),
      fc.constantFrom(0, 0xffff_ffff, 0x8000_0000),
    );
    fc.assert(
      fc.property(key, bits, (k, m) => {
        const whole = splitRegister(k.vendor, k.leaf, k.subleaf, k.register);
        expect(splitRegisterBits(k.vendor, k.leaf, k.subleaf, k.register, m)).toEqual(
          whole.filter((f) => (bitMask32(f.lsb, f.msb) & m) !== 0),
        );
      }),
      { numRuns: 2000 },
    );
  });

  test("property: cover keeps fields in order, leaving out any overlapping one kept before; with some bits, only theirs", () => {
    const field = (lsb: number, msb: number, name: string, unknown: boolean): Field => ({
      lsb,
      msb,
      name,
      compare: "subset",
      action: undefined,
      unknown,
      named: true,
      bits: true,
      alias: false,
      nested: false,
    });
    const bit = fc.integer({ min: -2, max: 34 });
    const fields = fc.array(
      fc.record({ lsb: bit, msb: bit, name: fc.string({ maxLength: 3 }) }),
      { maxLength: 24 }, // overlapping and out-of-range fields, which no real table has
    );
    const wanted = fc.oneof(
      fc.constant(-1),
      fc.integer({ min: 0, max: 0xffff_ffff }).map((m) => m | 0),
    );
    fc.assert(
      fc.property(fields, wanted, (list, m) => {
        const expected = maskCover(list)
          .filter((f) => m === -1 || (bitMask32(f.lsb, f.msb) & m) !== 0)
          .map((f) => (f.field ? field(f.lsb, f.msb, f.field.name, false) : field(f.lsb, f.msb, `bit ${f.lsb}`, true)));
        const got = cover(
          list,
          32,
          (f) => field(f.lsb, f.msb, f.name, false),
          (b) => field(b, b, `bit ${b}`, true),
          m,
        );
        expect(got).toEqual(expected);
      }),
      { numRuns: 3000 },
    );
  });

  test("property: the split of some bits, worked out on the index, is what the whole parsed table gives", () => {
    const key = fc.oneof(
      fc.constantFrom(...policyKeys),
      fc.record({
        vendor: fc.constantFrom(...VENDORS),
        leaf: fc.oneof(fc.constantFrom(...policyKeys.map((k) => k.leaf)), fc.integer({ min: 0, max: 0xffff_ffff })),
        subleaf: fc.oneof(fc.nat({ max: 70 }), fc.integer({ min: 0, max: 0xffff_ffff })),
        register: fc.constantFrom(...REGISTERS),
      }),
    );
    const bits = fc.oneof(fc.integer({ min: 0, max: 0xffff_ffff }), fc.constantFrom(0xffff_ffff, 0x8000_0000, 1));
    fc.assert(
      fc.property(key, bits, (k, m) => {
        const expected = maskCover(cpuidFieldsFor(policyFor(k.vendor), k.leaf, k.subleaf, k.register))
          .filter((f) => (bitMask32(f.lsb, f.msb) & m) !== 0)
          .map(({ lsb, msb, field: p }) =>
            p
              ? { lsb, msb, name: p.name, unknown: false, action: p.action, compare: p.compare, why: p.why }
              : { lsb, msb, name: cpuidBitName(k.leaf, k.subleaf, k.register, lsb), unknown: true, action: undefined },
          );
        const got = splitRegisterBits(k.vendor, k.leaf, k.subleaf, k.register, m).map((f) =>
          f.unknown
            ? { lsb: f.lsb, msb: f.msb, name: f.name, unknown: true, action: f.action }
            : {
                lsb: f.lsb,
                msb: f.msb,
                name: f.name,
                unknown: false,
                action: f.action,
                compare: f.compare,
                why: f.why,
              },
        );
        expect(got).toEqual(expected);
      }),
      { numRuns: 3000 },
    );
  });

  test("a fresh process, which parses only the fields it needs, splits every register as this one does", () => {
    const wanted = [0xffff_ffff, 0x8000_0001, 0x0f0f_0f0f];
    const keys = policyKeys.flatMap((k) => wanted.map((m) => [k.vendor, k.leaf, k.subleaf, k.register, m] as const));
    const script = `
      import { splitRegisterBits } from "${REPO}/src/fields/split.ts";
      const keys = ${JSON.stringify(keys)};
      console.log(JSON.stringify(keys.map((k) => splitRegisterBits(...k))));`;
    const r = Bun.spawnSync([BUN, "-e", script], { cwd: REPO, stdout: "pipe", stderr: "pipe" });
    expect(r.stderr.toString()).toBe("");
    expect(JSON.parse(r.stdout.toString())).toEqual(
      JSON.parse(JSON.stringify(keys.map((k) => splitRegisterBits(...k)))),
    );
  });

  test("every feature MSR splits into fields covering its 64 bits once", () => {
    for (const vendor of VENDORS)
      for (const index of featureMsrsOf(policyFor(vendor)))
        expect(coverage(splitMsr(vendor, index), 64)).toEqual(new Array(64).fill(1));
  });

  test("a baseline's combination rule partitions the register among AND, OR, keep, minimum and equal", () => {
    for (const k of policyKeys) {
      const r = registerRule(k.vendor, k.leaf, k.subleaf, k.register);
      const numeric = [...r.le, ...r.eq].map((s) => (s.width << s.lsb) >>> 0);
      const parts = [r.andMask, r.orMask, r.keepMask, ...numeric];
      expect(parts.reduce((a, m) => (a | m) >>> 0, 0)).toBe(0xffffffff);
      // no bit in two parts: the parts' bit counts add up to 32
      expect(parts.reduce((a, m) => a + popcount(m), 0)).toBe(32);
    }
  });
});

describe("views", () => {
  const entry = (fn: number, index: number, eax: number, flags = 0): CpuidEntry => ({
    function: fn,
    index,
    flags,
    eax,
    ebx: 0,
    ecx: 0,
    edx: 0,
  });

  test("a table view reads the entry findCpuid finds, and 0 (absent) where there is none", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 3 }), fc.nat(), fc.boolean()), {
          maxLength: 20,
        }),
        fc.integer({ min: 0, max: 8 }),
        fc.integer({ min: 0, max: 3 }),
        (raw, leaf, subleaf) => {
          const table = raw.map(([fn, index, eax, indexed]) => entry(fn, index, eax >>> 0, indexed ? 1 : 0));
          const slot = tableView("intel", table, []).register(leaf, subleaf, "eax");
          const e = findCpuid(table, leaf, subleaf);
          expect(slot).toEqual(
            e ? { fixed: e.eax, hostBits: 0, present: true } : { fixed: 0, hostBits: 0, present: false },
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  test("a profile view fixes the bits its adjustment does not leave to the host; a register no adjustment matches is 0", () => {
    fc.assert(
      fc.property(fc.nat(), fc.nat(), fc.integer({ min: 0, max: 5 }), (replacements, mask, subleaf) => {
        const profile = testProfile({
          cpuid: [
            {
              leaf: 7,
              subleaf: { start: 1, end: 3 },
              register: "ebx",
              replacements: replacements >>> 0,
              mask: mask >>> 0,
            },
          ],
        });
        const v = featureView(profile);
        const inside = subleaf >= 1 && subleaf <= 3;
        expect(v.register(7, subleaf, "ebx")).toEqual(
          inside
            ? { fixed: (replacements & ~mask) >>> 0, hostBits: mask >>> 0, present: true }
            : { fixed: 0, hostBits: 0, present: false },
        );
        expect(v.subleavesIn(7, "ebx", 2, 9)).toEqual([2]);
        expect(v.fixedAt(7, subleaf, "ebx")).toBe(inside ? (replacements & ~mask) >>> 0 : 0);
      }),
      { numRuns: 200 },
    );
  });
});
