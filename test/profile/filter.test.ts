import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { InputError } from "../../src/errors.ts";
import {
  MSR_FILTER_DEFAULT_ALLOW,
  MSR_FILTER_DEFAULT_DENY,
  MSR_FILTER_MAX_RANGE_MSRS,
  MSR_FILTER_READ,
  MSR_FILTER_WRITE,
  bitmapBytes,
  decodeMsrFilter,
  encodeMsrFilter,
  type MsrFilter,
} from "../../src/kvm/layout.ts";
import { buildMsrFilter, filterDecision, knownMsrsOf } from "../../src/profile/filter.ts";

const X2APIC_FIRST = 0x800;
const X2APIC_LAST = 0x8ff;

/** Independent reference: the fewest ranges (each ≤ 0x3000 MSRs, none spanning the x2APIC block) covering `points`, by dynamic programming. */
function minimalRanges(points: readonly number[]): number {
  const p = [...new Set(points)].sort((a, b) => a - b);
  const best: number[] = [0];
  for (let i = 1; i <= p.length; i++) {
    let m = Infinity;
    for (let j = 0; j < i; j++) {
      const lo = p[j]!,
        hi = p[i - 1]!;
      const straddles = lo < X2APIC_FIRST && hi > X2APIC_LAST;
      if (hi - lo + 1 <= MSR_FILTER_MAX_RANGE_MSRS && !straddles) m = Math.min(m, best[j]! + 1);
    }
    best.push(m);
  }
  return best[p.length]!;
}

function expectedDenied(known: readonly number[], permitted: readonly number[]): Set<number> {
  const ok = new Set(permitted);
  return new Set(known.filter((m) => !ok.has(m) && !(m >= X2APIC_FIRST && m <= X2APIC_LAST)));
}

// MSR indices clustered where real MSRs live, plus scattered ones so some sets need more than 16 ranges.
const msrIndex = fc.oneof(
  fc.integer({ min: 0, max: 0x2fff }),
  fc.integer({ min: 0x7f0, max: 0x910 }),
  fc.integer({ min: 0x40000000, max: 0x40000200 }),
  fc.integer({ min: 0xc0000000, max: 0xc0000200 }),
  fc.integer({ min: 0xc0010000, max: 0xc0013fff }),
  fc.integer({ min: 0, max: 0xffffffff }),
);
// Scattered sets of 12..34 MSRs straddle the 16-range limit once about half are permitted.
const knownSets = fc.oneof(
  fc.uniqueArray(msrIndex, { maxLength: 40 }),
  fc.uniqueArray(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 12, maxLength: 34 }),
);
const msrSets = fc
  .tuple(knownSets, fc.array(fc.boolean(), { maxLength: 40 }), fc.array(msrIndex, { maxLength: 5 }))
  .map(([known, keep, extra]) => ({ known, permitted: [...known.filter((_, i) => keep[i] ?? false), ...extra] }));

describe("buildMsrFilter", () => {
  test("denies exactly the known MSRs that are not permitted, within KVM's limits, or says it cannot", () => {
    fc.assert(
      fc.property(msrSets, fc.array(msrIndex, { maxLength: 20 }), ({ known, permitted }, probes) => {
        const denied = expectedDenied(known, permitted);
        const needed = minimalRanges([...denied]);
        // KVM's u32 end (base + nmsrs) wraps for a range holding 0xffffffff, so that MSR cannot be denied
        if (needed > 16 || denied.has(0xffffffff)) {
          expect(() => buildMsrFilter(known, permitted)).toThrow(InputError);
          return;
        }
        const filter = buildMsrFilter(known, permitted);
        expect(filter.flags).toBe(MSR_FILTER_DEFAULT_ALLOW);
        expect(filter.ranges.length).toBe(needed);
        for (const r of filter.ranges) {
          expect(r.flags).toBe(MSR_FILTER_READ | MSR_FILTER_WRITE);
          expect(r.nmsrs).toBeGreaterThan(0);
          expect(r.nmsrs).toBeLessThanOrEqual(MSR_FILTER_MAX_RANGE_MSRS);
          expect(r.bitmap.length).toBe(bitmapBytes(r.nmsrs));
          expect(r.base + r.nmsrs - 1 < X2APIC_FIRST || r.base > X2APIC_LAST).toBe(true);
          expect(r.base + r.nmsrs).toBeLessThanOrEqual(2 ** 32);
        }
        for (const msr of [...known, ...permitted, ...probes, X2APIC_FIRST, X2APIC_LAST]) {
          const want = denied.has(msr) ? "deny" : "allow";
          expect(filterDecision(filter, msr, "read")).toBe(want);
          expect(filterDecision(filter, msr, "write")).toBe(want);
        }
      }),
      { numRuns: 300 },
    );
  });

  test("is deterministic and independent of input order and duplicates", () => {
    fc.assert(
      fc.property(msrSets, ({ known, permitted }) => {
        const denied = expectedDenied(known, permitted);
        if (minimalRanges([...denied]) > 16 || denied.has(0xffffffff)) return;
        const a = encodeMsrFilter(buildMsrFilter(known, permitted));
        const b = encodeMsrFilter(buildMsrFilter([...known].reverse().concat(known), [...permitted].reverse()));
        expect(b).toEqual(a);
      }),
      { numRuns: 100 },
    );
  });

  test("17 far-apart denied MSRs cannot be expressed and the error says why", () => {
    const known = Array.from({ length: 17 }, (_, i) => 0x10000 + i * 0x10000);
    expect(() => buildMsrFilter(known, [])).toThrow(/need 17 ranges, KVM allows at most 16/);
    expect(buildMsrFilter(known, [known[0]!]).ranges.length).toBe(16);
  });

  test("denied MSRs on both sides of the x2APIC block use two ranges, never one over it", () => {
    const f = buildMsrFilter([0x7ff, 0x850, 0x900], []);
    expect(f.ranges.map((r) => [r.base, r.nmsrs])).toEqual([
      [0x7ff, 1],
      [0x900, 1],
    ]);
    expect(filterDecision(f, 0x850, "read")).toBe("allow");
  });

  test("the last MSR index cannot be denied (KVM's range end would wrap) and says so; permitted it is fine", () => {
    expect(() => buildMsrFilter([0x10, 0xffffffff], [])).toThrow(/0xffffffff cannot be denied/);
    const f = buildMsrFilter([0x10, 0xfffffffe, 0xffffffff], [0xffffffff]);
    expect(f.ranges.map((r) => [r.base, r.nmsrs])).toEqual([
      [0x10, 1],
      [0xfffffffe, 1],
    ]);
    expect(filterDecision(f, 0xfffffffe, "write")).toBe("deny");
  });

  test("a span longer than 0x3000 MSRs splits, and nothing denied means no ranges", () => {
    const f = buildMsrFilter([0x1000, 0x1000 + MSR_FILTER_MAX_RANGE_MSRS], []);
    expect(f.ranges.length).toBe(2);
    expect(buildMsrFilter([0x10, 0x11], [0x10, 0x11])).toEqual({ flags: MSR_FILTER_DEFAULT_ALLOW, ranges: [] });
  });

  test("the encoded kvm_msr_filter decodes to the same decisions", () => {
    const f = buildMsrFilter([0x10, 0x3a, 0x48, 0xc0000080, 0xc0000081, 0x40000000], [0x10, 0xc0000080]);
    const back = decodeMsrFilter(encodeMsrFilter(f));
    for (const msr of [0x10, 0x3a, 0x48, 0x49, 0xc0000080, 0xc0000081, 0x40000000, 0x40000001])
      expect(filterDecision(back, msr, "read")).toBe(filterDecision(f, msr, "read"));
  });
});

describe("filterDecision follows KVM's lookup", () => {
  const allowAll = (n: number) => new Uint8Array(bitmapBytes(n)).fill(0xff);
  const range = (base: number, nmsrs: number, flags: number, bitmap = new Uint8Array(bitmapBytes(nmsrs))) => ({
    base,
    nmsrs,
    flags,
    bitmap,
  });

  test("the first range containing the MSR with the access kind decides", () => {
    const f: MsrFilter = {
      flags: MSR_FILTER_DEFAULT_ALLOW,
      ranges: [
        range(0x10, 8, MSR_FILTER_WRITE),
        range(0x10, 8, MSR_FILTER_READ, allowAll(8)),
        range(0x10, 8, MSR_FILTER_READ),
      ],
    };
    expect(filterDecision(f, 0x12, "write")).toBe("deny");
    expect(filterDecision(f, 0x12, "read")).toBe("allow");
    expect(filterDecision(f, 0x18, "read")).toBe("allow");
  });

  test("no matching range means the default; empty and wrapping ranges match nothing", () => {
    const f: MsrFilter = {
      flags: MSR_FILTER_DEFAULT_DENY,
      ranges: [range(0x20, 0, MSR_FILTER_READ), range(0xffffff00, 0x200, MSR_FILTER_READ, allowAll(0x200))],
    };
    expect(filterDecision(f, 0x20, "read")).toBe("deny");
    expect(filterDecision(f, 0xffffff10, "read")).toBe("deny");
    expect(filterDecision(f, 0x10, "read")).toBe("deny");
    expect(filterDecision(f, 0x80b, "write")).toBe("allow");
  });

  test("bit order: bit (msr - base) at byte idx/8, bit idx%8", () => {
    const bitmap = new Uint8Array(8);
    bitmap[1] = 0b0000_0100; // index 10 allowed
    const f: MsrFilter = {
      flags: MSR_FILTER_DEFAULT_ALLOW,
      ranges: [range(0x100, 64, MSR_FILTER_READ | MSR_FILTER_WRITE, bitmap)],
    };
    expect(filterDecision(f, 0x10a, "read")).toBe("allow");
    expect(filterDecision(f, 0x109, "read")).toBe("deny");
    expect(filterDecision(f, 0x10b, "write")).toBe("deny");
  });
});

describe("knownMsrsOf", () => {
  test("unites feature MSRs, the index list and the MTRRs KVM does not list", () => {
    const known = knownMsrsOf({ featureMsrs: [{ index: 0x10a, value: 0n }], msrIndexList: [0x10, 0x10a, 0xc0000080] });
    expect(known).toContain(0x10a);
    expect(known).toContain(0x10);
    expect(known).toContain(0xc0000080);
    for (const mtrr of [0xfe, 0x200, 0x20f, 0x250, 0x258, 0x259, 0x268, 0x26f, 0x2ff]) expect(known).toContain(mtrr);
    // KVM has 8 variable MTRRs: 0x210.. are not MSRs a guest can read.
    expect(known).not.toContain(0x210);
    expect(known).not.toContain(0x251);
    expect(known).toEqual([...new Set(known)].sort((a, b) => a - b));
  });
});
