import { policyFor } from "../../src/policy/index.ts";
import { guestMsrProblems, reconcilePermittedMsrs } from "../../src/profile/guest-msrs.ts";
import { hex32 } from "../../src/model/hex.ts";
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { exportChv, importChv } from "../../src/formats/chv.ts";
import { InputError } from "../../src/errors.ts";
import { REGISTERS } from "../../src/model/cpuid.ts";
import { findAdjustment, type Profile } from "../../src/model/profile.ts";
import { fixtureText, HAVE_FIXTURES } from "./fixtures.ts";

const base: Profile = {
  name: "tiny",
  version: 1,
  vendor: "intel",
  kind: "profile",
  description: "",
  sourceHosts: [],
  toolVersion: "0",
  cpuid: [
    { leaf: 0x7, subleaf: { start: 0, end: 0 }, register: "ebx", replacements: 0x10000, mask: 0 },
    { leaf: 0x0, subleaf: { start: 0, end: 0xffffffff }, register: "eax", replacements: 0x16, mask: 0 },
  ],
  msrs: [{ index: 0x10a, replacements: 0x400000000c00004cn, mask: 0n }],
  permittedMsrs: [],
};
// A consistent profile (guest-msrs.ts): what it permits follows its features, so export → import keeps it.
base.permittedMsrs = reconcilePermittedMsrs(policyFor("intel"), base, [0x10a, 0x10]);

const opts = { name: "tiny", vendor: "intel" as const, cpuidFile: "c.json", msrFile: "m.json" };

function failure(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return (e as Error).message;
  }
  throw new Error("expected an InputError");
}

describe("Cloud Hypervisor export", () => {
  test("writes the upstream format: unpadded lower-case hex, upper-case registers, sorted", () => {
    const { cpuid, msr } = exportChv(base);
    const c = JSON.parse(cpuid);
    expect(c.adjustments[0]).toEqual([
      { leaf: "0x0", sub_leaf: { start: "0x0", end: "0xffffffff" }, register: "EAX" },
      { replacements: "0x16", mask: "0x0" },
    ]);
    expect(c.adjustments[1][0].leaf).toBe("0x7");
    expect(JSON.parse(msr)).toEqual({
      adjustments: [["0x10a", { replacements: "0x400000000c00004c", mask: "0x0" }]],
      required_msrs: base.permittedMsrs.map(hex32),
    });
    expect(cpuid.endsWith("\n")).toBeTrue();
  });

  test("a host-kind profile is refused", () => {
    expect(failure(() => exportChv({ ...base, kind: "host" }))).toContain("host-kind");
  });
});

describe("Cloud Hypervisor import", () => {
  test("export → import → export is byte-identical", () => {
    const once = exportChv(base);
    const again = exportChv(importChv(once.cpuid, once.msr, opts));
    expect(again).toEqual(once);
  });

  test("round trip holds for random profiles", () => {
    const u32 = fc.integer({ min: 0, max: 0xffffffff });
    const adj = fc.record({
      leaf: u32,
      start: u32,
      register: fc.constantFrom(...REGISTERS),
      replacements: u32,
      mask: u32,
    });
    fc.assert(
      fc.property(
        fc.uniqueArray(adj, { selector: (a) => `${a.leaf}/${a.register}`, maxLength: 30 }),
        fc.uniqueArray(
          fc.record({
            index: u32,
            replacements: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
            mask: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
          }),
          { selector: (m) => m.index, maxLength: 10 },
        ),
        fc.array(u32, { maxLength: 10 }),
        (cpuid, msrs, permitted) => {
          const p: Profile = {
            ...base,
            cpuid: cpuid.map((a) => ({
              leaf: a.leaf,
              subleaf: { start: a.start, end: 0xffffffff },
              register: a.register,
              replacements: a.replacements,
              mask: a.mask,
            })),
            msrs,
            permittedMsrs: [],
          };
          p.permittedMsrs = reconcilePermittedMsrs(policyFor("intel"), p, permitted);
          const once = exportChv(p);
          const back = importChv(once.cpuid, once.msr, opts);
          expect(exportChv(back)).toEqual(once);
          for (const a of p.cpuid)
            expect(findAdjustment(back, a.leaf, a.subleaf.start, a.register)?.replacements).toBe(a.replacements);
        },
      ),
      { numRuns: 100 },
    );
  });

  test("an upstream file without a vendor needs one", () => {
    const { cpuid } = exportChv(base);
    expect(failure(() => importChv(cpuid, undefined, { name: "x", cpuidFile: "c.json" }))).toContain(
      "c.json: $: the file does not name its CPU vendor",
    );
    const p = importChv(cpuid, undefined, { name: "x", vendor: "amd", cpuidFile: "c.json" });
    expect(p.vendor).toBe("amd");
    expect(p.msrs).toEqual([]);
    expect(guestMsrProblems(p)).toEqual([]);
  });

  test("errors name the file and the JSON path", () => {
    const c = JSON.parse(exportChv(base).cpuid);
    c.adjustments[1][1].mask = "0x1ffffffff";
    expect(failure(() => importChv(JSON.stringify(c), undefined, opts))).toBe(
      'c.json: $.adjustments[1][1].mask: expected a 32-bit 0x hex string, got "0x1ffffffff"',
    );
    const m = JSON.parse(exportChv(base).msr);
    m.required_msrs[0] = 16;
    expect(failure(() => importChv(exportChv(base).cpuid, JSON.stringify(m), opts))).toStartWith(
      "m.json: $.required_msrs[0]: expected",
    );
  });

  test("overlapping adjustments and duplicate MSRs are refused with file paths", () => {
    const c = JSON.parse(exportChv(base).cpuid);
    c.adjustments.push([
      { leaf: "0x0", sub_leaf: { start: "0x5", end: "0x6" }, register: "EAX" },
      { replacements: "0x1", mask: "0x0" },
    ]);
    expect(failure(() => importChv(JSON.stringify(c), undefined, opts))).toMatch(
      /^c\.json: \$\.adjustments\[\d\]: overlaps \$\.adjustments\[\d\]/,
    );
    const m = JSON.parse(exportChv(base).msr);
    m.adjustments.push(["0x10A", { replacements: "0x0", mask: "0x0" }]);
    expect(failure(() => importChv(exportChv(base).cpuid, JSON.stringify(m), opts))).toBe(
      "m.json: $.adjustments[1]: duplicate MSR 0x10a",
    );
  });

  test("an identical repeated adjustment is dropped, a conflicting one refused", () => {
    const c = JSON.parse(exportChv(base).cpuid);
    c.adjustments.push(structuredClone(c.adjustments[1]));
    expect(importChv(JSON.stringify(c), undefined, opts).cpuid).toHaveLength(2);
    c.adjustments[2][1].mask = "0x1";
    expect(failure(() => importChv(JSON.stringify(c), undefined, opts))).toBe(
      "c.json: $.adjustments[2]: overlaps $.adjustments[1] (leaf 0x7 EBX)",
    );
  });

  test("a bad profile name is refused", () => {
    expect(failure(() => importChv(exportChv(base).cpuid, undefined, { ...opts, name: "Bad Name" }))).toContain(
      "kebab-case",
    );
  });
});

describe.skipIf(!HAVE_FIXTURES)("Cloud Hypervisor early-format fixtures", () => {
  for (const [file, count] of [
    ["sapphire-rapids.cpuid.early.json", 214],
    ["skylake.cpuid.early.json", 202],
  ] as const) {
    test(`${file} imports with its vendor and every adjustment`, () => {
      const text = fixtureText(`cloud-hypervisor/${file}`);
      const p = importChv(text, undefined, { name: "fixture", cpuidFile: file });
      expect(p.vendor).toBe("intel");
      expect(p.cpuid).toHaveLength(count);
      const leaf0 = findAdjustment(p, 0, 0, "ebx")!;
      expect(leaf0.replacements).toBe(0x756e6547); // "Genu"
      const hv = findAdjustment(p, 0x40000001, 0, "edx")!;
      if (file.startsWith("skylake")) expect([hv.replacements, hv.mask]).toEqual([0, 1]);
      // the upstream re-export is canonical and reads back identically
      const out = exportChv(p);
      expect(out.cpuid).not.toContain("0x00000000");
      expect(
        exportChv(importChv(out.cpuid, out.msr, { name: "fixture", vendor: "intel", cpuidFile: "o.json" })),
      ).toEqual(out);
    });
  }
});
