import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import type { CpuidField, MsrField, Policy } from "../../src/policy/types.ts";
import { checkMigrationWith, migrationDifference } from "../../src/profile/migration.ts";
import { context, entry, host, INTEL_SIG, passthroughProfile, u32 } from "./apply-helpers.ts";

const INHERIT = { kind: "inherit" } as const;
const field = (leaf: number, register: CpuidField["register"], lsb: number, msb: number, name: string, compare: CpuidField["compare"]): CpuidField => ({
  leaf,
  subleaves: { start: 0, end: 0xffffffff },
  register,
  lsb,
  msb,
  name,
  action: INHERIT,
  compare,
});
const msrField = (index: number, lsb: number, msb: number, name: string, compare: MsrField["compare"]): MsrField => ({ index, lsb, msb, name, action: INHERIT, compare });

const policy: Policy = {
  vendor: "intel",
  cpuid: [
    field(0, "eax", 0, 31, "max_basic_leaf", "le"),
    field(0, "ebx", 0, 31, "vendor_ebx", "eq"),
    field(7, "ebx", 16, 16, "avx512f", "subset"),
    field(7, "edx", 0, 31, "leaf7_edx", "subset"),
    field(0xd, "eax", 0, 31, "xsave_size", "eq"),
    field(0xa, "ebx", 0, 7, "pmu_unavailable_events", "superset"),
    field(0x2, "eax", 0, 31, "cache_descriptors", "none"),
  ],
  msrFields: [msrField(0x10a, 0, 0, "rdcl_no", "subset"), msrField(0x10a, 2, 2, "rsba", "superset"), msrField(0x345, 0, 5, "lbr_format", "eq")],
  msrs: [],
};

function skylakeLike(over: { l7ebx?: number; l7edx?: number; max?: number; xsave?: number; pmu?: number; arch?: bigint; perf?: bigint; msrs?: number[] } = {}) {
  return host(
    [
      entry(0, 0, { eax: over.max ?? 0xd, ...INTEL_SIG }),
      entry(2, 0, { eax: 0x76036301 }),
      entry(7, 0, { ebx: over.l7ebx ?? 0x10000, edx: over.l7edx ?? 0 }, 1),
      entry(0xa, 0, { ebx: over.pmu ?? 0 }),
      entry(0xd, 0, { eax: over.xsave ?? 0x2e7 }, 1),
    ],
    {
      featureMsrs: [
        { index: 0x10a, value: over.arch ?? 1n },
        { index: 0x345, value: over.perf ?? 0x4n },
      ],
      msrIndexList: over.msrs ?? [0x10, 0x10a],
    },
  );
}

const check = (src: ReturnType<typeof skylakeLike>, dst: ReturnType<typeof skylakeLike>, withProfile = false) =>
  checkMigrationWith(context(policy), src, dst, withProfile ? passthroughProfile(src, { permittedMsrs: [0x10, 0x10a, 0x3a] }) : undefined);
const names = (r: { problems: { name: string }[] }) => r.problems.map((p) => p.name);

describe("checkMigration", () => {
  test("a host to itself is always compatible, with or without a profile", () => {
    fc.assert(
      fc.property(u32, u32, fc.integer({ min: 7, max: 0x20 }), fc.boolean(), (l7ebx, l7edx, max, withProfile) => {
        const h = skylakeLike({ l7ebx, l7edx, max });
        expect(check(h, h, withProfile)).toEqual({ compatible: true, problems: [] });
      }),
      { numRuns: 60 },
    );
  });

  test("a destination with more features never adds feature problems (subset is monotone)", () => {
    fc.assert(
      fc.property(u32, u32, u32, (a, b, extra) => {
        const src = skylakeLike({ l7edx: a });
        const dst = skylakeLike({ l7edx: (a | extra) >>> 0 });
        expect(check(src, dst).compatible).toBe(true);
        const back = check(dst, skylakeLike({ l7edx: b }));
        const lost = ((a | extra) & ~b) >>> 0;
        expect(back.problems.filter((p) => p.kind === "cpuid-feature").length).toBe(lost.toString(2).replace(/0/g, "").length);
      }),
      { numRuns: 80 },
    );
  });

  test("names the missing feature, the lower max leaf, the different XSAVE layout and the bad-news bit", () => {
    const src = skylakeLike();
    expect(names(check(src, skylakeLike({ l7ebx: 0 })))).toEqual(["avx512f"]);
    expect(check(src, skylakeLike({ max: 0x7 })).problems[0]!.detail).toMatch(/max_basic_leaf .* 0xd .* 0x7/);
    expect(names(check(src, skylakeLike({ max: 0x1f })))).toEqual([]);
    expect(names(check(src, skylakeLike({ xsave: 0x2ff })))).toEqual(["xsave_size"]);
    expect(names(check(src, skylakeLike({ pmu: 0x1 })))).toEqual(["pmu_unavailable_events[0]"]);
    expect(names(check(skylakeLike({ pmu: 0x1 }), src))).toEqual([]);
  });

  test("feature MSRs: good-news bits must stay, bad-news bits must not appear, formats must match", () => {
    const src = skylakeLike();
    expect(names(check(src, skylakeLike({ arch: 0n })))).toEqual(["rdcl_no"]);
    expect(names(check(src, skylakeLike({ arch: 5n })))).toEqual(["rsba"]);
    expect(names(check(src, skylakeLike({ perf: 0x5n })))).toEqual(["lbr_format"]);
  });

  test("MSRs the guest may access on the source but the destination does not know", () => {
    const src = skylakeLike({ msrs: [0x10, 0x3a, 0x10a, 0x48] });
    const dst = skylakeLike({ msrs: [0x10, 0x10a] });
    // under the profile only permitted ones count (0x3a permitted, 0x48 not); without one everything the source knows
    const underProfile = check(src, dst, true).problems;
    expect(underProfile.map((p) => p.kind)).toEqual(["msr-unknown"]);
    expect(underProfile[0]!.detail).toContain("0x3a");
    expect(check(src, dst).problems.filter((p) => p.kind === "msr-unknown").length).toBe(2);
  });

  test("XSAVE component layouts (0xD.n) count only for components the source guest may enable", () => {
    const xsavePolicy: Policy = { ...policy, cpuid: [
        { ...field(0xd, "eax", 0, 31, "xcr0_low", "subset"), subleaves: { start: 0, end: 0 } },
        { ...field(0xd, "eax", 0, 31, "xsave_component_size", "eq"), subleaves: { start: 2, end: 63 } },
      ],
    };
    const withComponent3 = (xcr0: number, size3: number | null) =>
      host([entry(0, 0, { eax: 0xd, ...INTEL_SIG }), entry(0xd, 0, { eax: xcr0 }, 1), ...(size3 === null ? [] : [entry(0xd, 3, { eax: size3 }, 1)])]);
    const run = (src: ReturnType<typeof withComponent3>, dst: ReturnType<typeof withComponent3>) =>
      checkMigrationWith(context(xsavePolicy), src, dst).problems.map((p) => p.detail.replace(/ \(.*/, "") + "@" + p.detail.match(/0xd\.\d/)![0]);
    // component 3 hidden from the guest: its layout may differ or be absent on the destination
    expect(run(withComponent3(0x7, 0x40), withComponent3(0x7, null))).toEqual([]);
    // component 3 enabled: its size must match
    expect(run(withComponent3(0xf, 0x40), withComponent3(0xf, 0x80))).toEqual(["xsave_component_size@0xd.3"]);
  });

  test("a different vendor is a problem", () => {
    const src = skylakeLike();
    const r = check(src, { ...src, vendor: "amd" });
    expect(r.compatible).toBe(false);
    expect(r.problems[0]!.kind).toBe("vendor");
  });
});

describe("migrationDifference", () => {
  test("rules read from the guest's point of view", () => {
    expect(migrationDifference("subset", 0b110n, 0b100n)).toEqual({ bits: 0b010n });
    expect(migrationDifference("superset", 0b100n, 0b110n)).toEqual({ bits: 0b010n });
    expect(migrationDifference("le", 5n, 4n)).toEqual({ bits: null });
    expect(migrationDifference("le", 4n, 5n)).toBeNull();
    expect(migrationDifference("eq", 4n, 5n)).toEqual({ bits: null });
    expect(migrationDifference("none", 4n, 5n)).toBeNull();
  });
});
