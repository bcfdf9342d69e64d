// fields: the one split of registers and feature MSRs, the views, and the baseline's rules built from the split.
import { profile as testProfile } from "../profile/apply-helpers.ts";
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { cpuidBitsName } from "../../src/catalogue/index.ts";
import { bitMask32 } from "../../src/fields/bits.ts";
import { registerRule } from "../../src/fields/combine.ts";
import { splitMsr, splitRegister, splitRegisterBits, unknownBits32 } from "../../src/fields/split.ts";
import { featureView, tableView } from "../../src/fields/view.ts";
import { REGISTERS, findCpuid, type CpuidEntry, type Register } from "../../src/model/cpuid.ts";
import { cpuidFieldsFor, featureMsrsOf, policyFor } from "../../src/policy/index.ts";

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
