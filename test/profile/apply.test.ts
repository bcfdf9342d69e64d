import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { InputError } from "../../src/errors.ts";
import { decodeCpuid2, encodeCpuid2, encodeMsrFilter } from "../../src/kvm/layout.ts";
import { CPUID_FLAG_SIGNIFICANT_INDEX, REGISTERS, findCpuid, isIndexedLeaf } from "../../src/model/cpuid.ts";
import type { CpuidAdjustment } from "../../src/model/profile.ts";
import { applyProfileWith } from "../../src/profile/apply.ts";
import { filterDecision } from "../../src/profile/filter.ts";
import {
  context,
  emptyPolicy,
  entry,
  host,
  INTEL_SIG,
  passthroughProfile,
  plainLeaves,
  profile,
  u32,
} from "./apply-helpers.ts";

const leaf0 = (maxBasic: number) => entry(0, 0, { eax: maxBasic, ...INTEL_SIG });
const ext0 = (maxExt: number) => entry(0x80000000, 0, { eax: maxExt });

// A random host over leaves without per-vCPU fields, and a random profile over the same keys.
const hostAndProfile = fc
  .record({
    leaves: fc.uniqueArray(fc.constantFrom(...plainLeaves), { minLength: 1, maxLength: plainLeaves.length }),
    values: fc.array(fc.tuple(u32, u32, u32, u32), { minLength: plainLeaves.length, maxLength: plainLeaves.length }),
    adjust: fc.array(fc.option(fc.tuple(u32, u32), { nil: undefined }), {
      minLength: 4 * plainLeaves.length,
      maxLength: 4 * plainLeaves.length,
    }),
    kind: fc.constantFrom("profile" as const, "host" as const),
  })
  .map(({ leaves, values, adjust, kind }) => {
    const entries = leaves.map((fn, i) => {
      const [eax, ebx, ecx, edx] = values[i]!;
      return entry(fn, 0, { eax, ebx, ecx, edx });
    });
    const h = host([leaf0(0x1f), ext0(0x80000008), ...entries]);
    const cpuid: CpuidAdjustment[] = [];
    h.cpuid.forEach((e, i) =>
      REGISTERS.forEach((r, k) => {
        const a = e.function === 0 || e.function === 0x80000000 ? [0, 0xffffffff] : adjust[(i * 4 + k) % adjust.length];
        if (a)
          cpuid.push({
            leaf: e.function,
            subleaf: { start: 0, end: 0xffffffff },
            register: r,
            replacements: a[0]! & ~a[1]! & 0xffffffff,
            mask: a[1]!,
          });
      }),
    );
    return { h, p: profile({ cpuid, kind }) };
  });

describe("applyProfile: CPUID", () => {
  test("each register is (host & mask) | replacements, 0 when no adjustment matches, the host value for the host profile", () => {
    fc.assert(
      fc.property(hostAndProfile, ({ h, p }) => {
        const cfg = applyProfileWith(context(), p, h);
        expect(cfg.cpuid.map((e) => [e.function, e.index])).toEqual(h.cpuid.map((e) => [e.function, e.index]));
        for (const g of cfg.cpuid) {
          const he = findCpuid(h.cpuid, g.function, g.index)!;
          for (const r of REGISTERS) {
            const a = p.cpuid.find((x) => x.leaf === g.function && x.register === r);
            const want = p.kind === "host" ? he[r] : a ? ((he[r] & a.mask) | a.replacements) >>> 0 : 0;
            expect(g[r]).toBe(want);
          }
        }
      }),
      { numRuns: 150 },
    );
  });

  test("is deterministic: same inputs (even fresh copies) give byte-identical kvm_cpuid2, MSRs and filter", () => {
    fc.assert(
      fc.property(hostAndProfile, ({ h, p }) => {
        const a = applyProfileWith(context(), p, h, { vcpuCount: 4, vcpuId: 3 });
        const b = applyProfileWith(context(), structuredClone(p), structuredClone(h), { vcpuCount: 4, vcpuId: 3 });
        expect(encodeCpuid2(b.cpuid)).toEqual(encodeCpuid2(a.cpuid));
        expect(b.msrs).toEqual(a.msrs);
        expect(encodeMsrFilter(b.msrFilter!)).toEqual(encodeMsrFilter(a.msrFilter!));
      }),
      { numRuns: 50 },
    );
  });

  test("the kvm_cpuid2 encoding of the applied table decodes back to the same table", () => {
    fc.assert(
      fc.property(hostAndProfile, fc.integer({ min: 1, max: 64 }), ({ h, p }, n) => {
        const cfg = applyProfileWith(context(), p, h, { vcpuCount: n, vcpuId: n - 1 });
        expect(decodeCpuid2(encodeCpuid2(cfg.cpuid))).toEqual(cfg.cpuid);
      }),
      { numRuns: 50 },
    );
  });

  test("every indexed leaf carries KVM's significant-index flag, others keep the host's flags", () => {
    const h = host([leaf0(0xd), entry(4, 0), entry(4, 1), entry(7, 0), entry(0xd, 1), entry(2, 0)]);
    const cfg = applyProfileWith(context(), passthroughProfile(h), h);
    for (const e of cfg.cpuid) expect(e.flags & CPUID_FLAG_SIGNIFICANT_INDEX).toBe(isIndexedLeaf(e.function) ? 1 : 0);
    expect(cfg.cpuid.length).toBe(6);
  });

  test("entries above the guest's max basic or extended leaf are dropped", () => {
    const h = host([
      leaf0(0x1f),
      entry(7, 0, { ebx: 1 }),
      entry(0xd, 0, { eax: 7 }),
      ext0(0x80000008),
      entry(0x80000001, 0, { ecx: 1 }),
      entry(0x80000008, 0, { eax: 0x3030 }),
    ]);
    const p = passthroughProfile(h);
    // lower the max basic leaf to 7 and the max extended leaf to 0x80000001
    for (const a of p.cpuid) {
      if (a.leaf === 0 && a.register === "eax") Object.assign(a, { mask: 0, replacements: 7 });
      if (a.leaf === 0x80000000 && a.register === "eax") Object.assign(a, { mask: 0, replacements: 0x80000001 });
    }
    const fns = applyProfileWith(context(), p, h).cpuid.map((e) => e.function);
    expect(fns).toEqual([0, 7, 0x80000000, 0x80000001]);
  });

  test("a class without its max-leaf entry is dropped entirely", () => {
    const h = host([leaf0(1), entry(1, 0), entry(0x80000001, 0, { edx: 1 })]);
    expect(applyProfileWith(context(), passthroughProfile(h), h).cpuid.map((e) => e.function)).toEqual([0, 1]);
  });

  test("more than 256 entries is refused with a clear error", () => {
    const entries = [leaf0(0xd), ...Array.from({ length: 300 }, (_, i) => entry(0xd, i, { eax: 1 }))];
    const h = host(entries);
    expect(() => applyProfileWith(context(), passthroughProfile(h), h)).toThrow(InputError);
    expect(() => applyProfileWith(context(), passthroughProfile(h), h)).toThrow(/at most 256/);
  });

  test("nested bits (policy fields marked nested) are cleared unless nested is asked for", () => {
    const h = host([leaf0(1), entry(1, 0, { ecx: 0x20 | 0x1 }), ext0(0x80000001), entry(0x80000001, 0, { ecx: 0x4 })]);
    const policy = {
      ...emptyPolicy(),
      cpuid: [
        {
          leaf: 1,
          subleaves: { start: 0, end: 0 },
          register: "ecx" as const,
          lsb: 5,
          msb: 5,
          name: "vmx",
          action: { kind: "inherit" as const },
          compare: "subset" as const,
          nested: true,
        },
        {
          leaf: 1,
          subleaves: { start: 0, end: 0 },
          register: "ecx" as const,
          lsb: 0,
          msb: 0,
          name: "pni",
          action: { kind: "inherit" as const },
          compare: "subset" as const,
        },
      ],
    };
    const p = passthroughProfile(h);
    const plain = applyProfileWith(context(policy), p, h);
    expect(findCpuid(plain.cpuid, 1)!.ecx).toBe(0x1);
    expect(findCpuid(plain.cpuid, 0x80000001)!.ecx).toBe(0x4);
    expect(findCpuid(applyProfileWith(context(policy), p, h, { nested: true }).cpuid, 1)!.ecx).toBe(0x21);
  });

  test("bad vCPU ids and counts are refused", () => {
    const h = host([leaf0(1)]);
    expect(() => applyProfileWith(context(), profile(), h, { vcpuId: 2, vcpuCount: 2 })).toThrow(InputError);
    expect(() => applyProfileWith(context(), profile(), h, { vcpuCount: 0 })).toThrow(InputError);
    expect(() => applyProfileWith(context(), profile(), h, { vcpuCount: 1.5 })).toThrow(InputError);
  });
});

describe("applyProfile: feature MSRs", () => {
  const featureMsrs = [
    { index: 0x8b, value: 0x2007006_00000000n },
    { index: 0xce, value: 0x80000000n },
    { index: 0x10a, value: 0x2000c04fn },
    { index: 0x345, value: 0x33c5n },
    { index: 0x480, value: 0xda0400000004n },
    { index: 0x48b, value: 0x1ffcff00000000n },
  ];
  const h = host([leaf0(1)], { featureMsrs });

  test("values are (host & mask) | replacements, unadjusted ones 0, VMX capabilities only when nested", () => {
    const p = profile({
      msrs: [
        { index: 0x10a, replacements: 0x4n, mask: 0x2000c000n },
        { index: 0x480, replacements: 0n, mask: 0xffffffffffffffffn },
      ],
    });
    const plain = applyProfileWith(context(), p, h);
    expect(plain.msrs).toEqual([
      { index: 0x8b, value: 0n, crucial: false },
      { index: 0xce, value: 0n, crucial: false },
      { index: 0x10a, value: 0x2000c004n, crucial: true },
      { index: 0x345, value: 0n, crucial: true },
    ]);
    const nested = applyProfileWith(context(), p, h, { nested: true });
    expect(nested.msrs.map((m) => [m.index, m.value, m.crucial])).toContainEqual([0x480, 0xda0400000004n, true]);
    expect(nested.msrs.map((m) => [m.index, m.value])).toContainEqual([0x48b, 0n]);
  });

  test("the host profile keeps every host value", () => {
    const cfg = applyProfileWith(context(), profile({ kind: "host" }), h, { nested: true });
    expect(cfg.msrs.map((m) => [m.index, m.value])).toEqual(featureMsrs.map((m) => [m.index, m.value]));
  });
});

describe("applyProfile: MSR filter", () => {
  const msrIndexList = [0x10, 0x3a, 0x48, 0x10a, 0x40000000, 0x40000001, 0x40000073, 0x4b564d00, 0xc0000080];
  const h = host([leaf0(1)], {
    msrIndexList,
    featureMsrs: [
      { index: 0x480, value: 1n },
      { index: 0x10a, value: 0n },
    ],
  });
  const permitted = [0x10, 0x48, 0x10a, 0x40000000, 0x40000001, 0x480, 0xc0000080];

  test("denies the known MSRs the profile does not permit; Hyper-V only with hyperv, VMX only with nested", () => {
    const p = profile({ permittedMsrs: permitted });
    const decide = (opts: { hyperv?: boolean; nested?: boolean }, msr: number) =>
      filterDecision(applyProfileWith(context(), p, h, opts).msrFilter!, msr, "read");
    expect(decide({}, 0x10)).toBe("allow");
    expect(decide({}, 0x3a)).toBe("deny");
    expect(decide({}, 0x4b564d00)).toBe("deny");
    expect(decide({}, 0x40000000)).toBe("deny");
    expect(decide({ hyperv: true }, 0x40000000)).toBe("allow");
    expect(decide({ hyperv: true }, 0x40000073)).toBe("deny");
    expect(decide({}, 0x480)).toBe("deny");
    expect(decide({ nested: true }, 0x480)).toBe("allow");
    expect(decide({}, 0x200)).toBe("deny"); // an MTRR: known though unlisted
    expect(decide({}, 0x12345)).toBe("allow"); // unknown to the host: KVM's own handling applies
  });

  test("msrFilter: false gives no filter; the host profile gives a filter with no ranges", () => {
    expect(applyProfileWith(context(), profile(), h, { msrFilter: false }).msrFilter).toBeNull();
    expect(applyProfileWith(context(), profile({ kind: "host" }), h).msrFilter!.ranges).toEqual([]);
  });
});
