import { guestMsrProblems } from "../../src/profile/guest-msrs.ts";
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  exportFirecrackerTemplate,
  importFirecrackerTemplate,
  KEEP_HOST_LEAVES,
} from "../../src/formats/firecracker-template.ts";
import { loadHostFile } from "../../src/formats/host-file.ts";
import { validateJsonSchema } from "../../src/formats/json-schema.ts";
import { InputError } from "../../src/errors.ts";
import { REGISTERS } from "../../src/model/cpuid.ts";
import { findAdjustment, type Profile } from "../../src/model/profile.ts";
import { fixtureFiles, fixtureText, HAVE_FIXTURES } from "./fixtures.ts";

const TEMPLATES = fixtureFiles("firecracker-templates", /^[A-Z0-9]+\.json$/);
const schema = () => JSON.parse(fixtureText("firecracker-templates/schema.json"));
const opts = { vendor: "intel" as const, name: "t" };

type Modifier = { leaf: string; subleaf: string; flags: number; modifiers: { register: string; bitmap: string }[] };
type Template = { cpuid_modifiers: Modifier[]; msr_modifiers?: { addr: string; bitmap: string }[] };

/** "leaf/subleaf/register" → bitmap, separators removed, and MSR addr → bitmap. */
function bitsOfTemplate(t: Template): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of t.cpuid_modifiers)
    for (const r of m.modifiers)
      out.set(`${Number(m.leaf)}/${Number(m.subleaf)}/${r.register}`, r.bitmap.replaceAll("_", ""));
  for (const m of t.msr_modifiers ?? []) out.set(`msr ${Number(m.addr)}`, m.bitmap.replaceAll("_", ""));
  return out;
}

function failure(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return (e as Error).message;
  }
  throw new Error("expected an InputError");
}

const tiny = (mods: Modifier[], msrs: Template["msr_modifiers"] = []) =>
  JSON.stringify({ cpuid_modifiers: mods, msr_modifiers: msrs });

describe("Firecracker template import", () => {
  test("0/1/x become replacements and mask; unmentioned registers keep the host's value", () => {
    const p = importFirecrackerTemplate(
      tiny([
        {
          leaf: "0x7",
          subleaf: "0x0",
          flags: 1,
          modifiers: [{ register: "ebx", bitmap: `0b${"x".repeat(15)}0${"1".repeat(8)}${"x".repeat(8)}` }],
        },
      ]),
      "t.json",
      opts,
    );
    const ebx = findAdjustment(p, 7, 0, "ebx")!;
    expect([ebx.replacements, ebx.mask]).toEqual([0xff00, 0xfffe00ff]);
    // subleaf 1 of the same register, and other registers, keep the host value
    expect(findAdjustment(p, 7, 1, "ebx")).toMatchObject({ replacements: 0, mask: 0xffffffff });
    expect(findAdjustment(p, 7, 0, "eax")).toMatchObject({ replacements: 0, mask: 0xffffffff });
    for (const leaf of KEEP_HOST_LEAVES) for (const r of REGISTERS) expect(findAdjustment(p, leaf, 0, r)).toBeDefined();
    expect(p.permittedMsrs).toContain(0xc0000080);
  });

  test("a non-indexed leaf's modifier covers every subleaf", () => {
    const p = importFirecrackerTemplate(
      tiny([
        {
          leaf: "0x80000001",
          subleaf: "0x0",
          flags: 0,
          modifiers: [{ register: "ecx", bitmap: `0b${"0".repeat(32)}` }],
        },
      ]),
      "t.json",
      opts,
    );
    expect(findAdjustment(p, 0x80000001, 3, "ecx")).toMatchObject({ replacements: 0, mask: 0 });
  });

  test("separators are allowed, malformed bitmaps and duplicates are refused with paths", () => {
    const ok = `0b${"x".repeat(8)}_${"0".repeat(24)}`;
    expect(() =>
      importFirecrackerTemplate(
        tiny([{ leaf: "1", subleaf: "0", flags: 0, modifiers: [{ register: "eax", bitmap: ok }] }]),
        "t.json",
        opts,
      ),
    ).not.toThrow();
    expect(
      failure(() =>
        importFirecrackerTemplate(
          tiny([{ leaf: "0x1", subleaf: "0x0", flags: 0, modifiers: [{ register: "eax", bitmap: "0b12" }] }]),
          "t.json",
          opts,
        ),
      ),
    ).toBe(
      `t.json: $.cpuid_modifiers[0].modifiers[0].bitmap: expected "0b" followed by 32 characters 0, 1 or x ('_' separators allowed), got "0b12"`,
    );
    const m: Modifier = {
      leaf: "0x1",
      subleaf: "0x0",
      flags: 0,
      modifiers: [{ register: "eax", bitmap: `0b${"x".repeat(32)}` }],
    };
    expect(failure(() => importFirecrackerTemplate(tiny([m, m]), "t.json", opts))).toBe(
      "t.json: $.cpuid_modifiers[1]: duplicate leaf 0x1 subleaf 0x0",
    );
    expect(
      failure(() => importFirecrackerTemplate(tiny([], [{ addr: "0x10a", bitmap: "0b1" }]), "t.json", opts)),
    ).toContain("$.msr_modifiers[0].bitmap");
  });

  test("with a host, its leaves and MSRs are the ones kept and permitted", () => {
    const host = loadHostFile(
      JSON.stringify({
        cpuid_modifiers: [
          {
            leaf: "0x0",
            subleaf: "0x0",
            flags: 0,
            modifiers: [
              { register: "ebx", bitmap: `0b${(0x756e6547).toString(2).padStart(32, "0")}` },
              { register: "edx", bitmap: `0b${(0x49656e69).toString(2).padStart(32, "0")}` },
              { register: "ecx", bitmap: `0b${(0x6c65746e).toString(2).padStart(32, "0")}` },
            ],
          },
          {
            leaf: "0x1",
            subleaf: "0x0",
            flags: 0,
            modifiers: [{ register: "eax", bitmap: `0b${"0".repeat(31)}1` }],
          },
        ],
        msr_modifiers: [{ addr: "0x1234", bitmap: `0b${"0".repeat(64)}` }],
      }),
      "dump.json",
    );
    const p = importFirecrackerTemplate(tiny([]), "t.json", { ...opts, host });
    // what the host knows, plus what a guest OS needs for the features the template keeps (guest-msrs.ts)
    expect(p.permittedMsrs).toContain(0x1234);
    expect(guestMsrProblems(p)).toEqual([]);
    expect(findAdjustment(p, 0x1, 0, "ecx")).toMatchObject({ mask: 0xffffffff });
    expect(findAdjustment(p, 0x7, 0, "ecx")).toBeUndefined();
  });
});

describe("Firecracker template export", () => {
  const profile: Profile = {
    name: "x",
    version: 1,
    vendor: "intel",
    kind: "profile",
    description: "",
    sourceHosts: [],
    toolVersion: "0",
    cpuid: [
      { leaf: 0x7, subleaf: { start: 0, end: 0 }, register: "ebx", replacements: 0x10000, mask: 0xfffeffff },
      { leaf: 0x1, subleaf: { start: 0, end: 0xffffffff }, register: "ecx", replacements: 0x3, mask: 0x1 },
      { leaf: 0xd, subleaf: { start: 2, end: 3 }, register: "eax", replacements: 0, mask: 0 },
      { leaf: 0x1, subleaf: { start: 0, end: 0xffffffff }, register: "eax", replacements: 0, mask: 0xffffffff },
    ],
    msrs: [{ index: 0x10a, replacements: 1n, mask: 0xfffffffffffffff0n }],
    permittedMsrs: [],
  };

  test("mask bits become x, other bits the replacement, keep-all registers are left out", () => {
    const t = JSON.parse(exportFirecrackerTemplate(profile)) as Template;
    expect(t.cpuid_modifiers.map((m) => [m.leaf, m.subleaf, m.flags, m.modifiers.map((r) => r.register)])).toEqual([
      ["0x1", "0x0", 0, ["ecx"]],
      ["0x7", "0x0", 1, ["ebx"]],
      ["0xd", "0x2", 1, ["eax"]],
      ["0xd", "0x3", 1, ["eax"]],
    ]);
    // bit 0 set in both mask and replacements is always 1 for the guest
    expect(t.cpuid_modifiers[0]!.modifiers[0]!.bitmap).toBe(`0b${"0".repeat(30)}11`);
    expect(t.cpuid_modifiers[1]!.modifiers[0]!.bitmap).toBe(`0b${"x".repeat(15)}1${"x".repeat(16)}`);
    expect(t.msr_modifiers).toEqual([{ addr: "0x10a", bitmap: `0b${"x".repeat(60)}0001` }]);
  });

  test("deterministic and import ∘ export keeps every bit", () => {
    const once = exportFirecrackerTemplate(profile);
    expect(exportFirecrackerTemplate({ ...profile, cpuid: [...profile.cpuid].reverse() })).toBe(once);
    const back = importFirecrackerTemplate(once, "o.json", opts);
    expect(exportFirecrackerTemplate(back)).toBe(once);
  });

  test("random templates survive import then export bit for bit", () => {
    const bitmap = (n: number) =>
      fc.array(fc.constantFrom("0", "1", "x"), { minLength: n, maxLength: n }).map((a) => `0b${a.join("")}`);
    const mod = fc.record({
      leaf: fc.constantFrom(0x1, 0x7, 0xd, 0x80000001, 0x80000008),
      subleaf: fc.integer({ min: 0, max: 3 }),
      register: fc.constantFrom(...REGISTERS),
      bitmap: bitmap(32),
    });
    fc.assert(
      fc.property(
        fc.uniqueArray(mod, {
          selector: (m) => `${m.leaf}/${[0x7, 0xd].includes(m.leaf) ? m.subleaf : 0}/${m.register}`,
          maxLength: 12,
        }),
        (mods) => {
          const entries = new Map<string, Modifier>();
          for (const m of mods) {
            const isIndexed = [0x7, 0xd].includes(m.leaf);
            const sub = isIndexed ? m.subleaf : 0;
            const e = entries.get(`${m.leaf}/${sub}`) ?? {
              leaf: `0x${m.leaf.toString(16)}`,
              subleaf: `0x${sub.toString(16)}`,
              flags: isIndexed ? 1 : 0,
              modifiers: [],
            };
            e.modifiers.push({ register: m.register, bitmap: m.bitmap });
            entries.set(`${m.leaf}/${sub}`, e);
          }
          const t: Template = { cpuid_modifiers: [...entries.values()] };
          const out = bitsOfTemplate(
            JSON.parse(exportFirecrackerTemplate(importFirecrackerTemplate(JSON.stringify(t), "r.json", opts))),
          );
          for (const [k, bits] of bitsOfTemplate(t)) expect(out.get(k) ?? `0b${"x".repeat(32)}`).toBe(bits);
        },
      ),
      { numRuns: 100 },
    );
  });

  test("a host fills registers the profile hides with zeros", () => {
    const host = loadHostFile(
      JSON.stringify({
        cpuid_modifiers: [
          {
            leaf: "0x0",
            subleaf: "0x0",
            flags: 0,
            modifiers: [
              { register: "ebx", bitmap: `0b${(0x756e6547).toString(2).padStart(32, "0")}` },
              { register: "edx", bitmap: `0b${(0x49656e69).toString(2).padStart(32, "0")}` },
              { register: "ecx", bitmap: `0b${(0x6c65746e).toString(2).padStart(32, "0")}` },
            ],
          },
          { leaf: "0x1", subleaf: "0x0", flags: 0, modifiers: [] },
        ],
      }),
      "dump.json",
    );
    const t = JSON.parse(exportFirecrackerTemplate(profile, host)) as Template;
    const bits = bitsOfTemplate(t);
    expect(bits.get("0/0/eax")).toBe(`0b${"0".repeat(32)}`);
    expect(bits.get("1/0/edx")).toBe(`0b${"0".repeat(32)}`);
    expect(bits.has("1/0/eax")).toBeFalse(); // keep-all stays out
  });
});

describe("JSON Schema subset validator", () => {
  const s = {
    type: "object",
    properties: { a: { type: "array", items: { type: "string", enum: ["x", "y"] } }, n: { type: "integer" } },
  };
  test("accepts valid and reports invalid values with paths", () => {
    expect(validateJsonSchema(s, { a: ["x"], n: 3 })).toEqual([]);
    expect(validateJsonSchema(s, { a: ["z"], n: 1.5 })).toEqual([
      '$.a[0]: expected one of ["x","y"], got "z"',
      "$.n: expected integer, got number",
    ]);
    expect(validateJsonSchema(s, [])).toEqual(["$: expected object, got array"]);
  });
  test("refuses keywords it does not check", () => {
    expect(() => validateJsonSchema({ pattern: "^a" }, "a")).toThrow("unsupported keyword");
  });
});

describe.skipIf(!HAVE_FIXTURES)("Firecracker fixture templates", () => {
  test("the published schema is within the validator's subset and rejects a wrong shape", () => {
    expect(validateJsonSchema(schema(), { cpuid_modifiers: [{ leaf: 1 }] })).toEqual([
      "$.cpuid_modifiers[0].leaf: expected string, got integer",
    ]);
  });

  for (const file of TEMPLATES) {
    test(`${file}: import → export sets the same 0/1/x bits and validates against schema.json`, () => {
      const original = JSON.parse(fixtureText(`firecracker-templates/${file}`)) as Template;
      expect(validateJsonSchema(schema(), original)).toEqual([]);
      const profile = importFirecrackerTemplate(JSON.stringify(original), file, {
        vendor: file === "T2A.json" ? "amd" : "intel",
        name: file.replace(".json", "").toLowerCase(),
      });
      const exported = exportFirecrackerTemplate(profile);
      expect(validateJsonSchema(schema(), JSON.parse(exported))).toEqual([]);
      const out = bitsOfTemplate(JSON.parse(exported));
      const want = bitsOfTemplate(original);
      expect(want.size).toBeGreaterThan(5);
      for (const [k, bits] of want) expect([k, out.get(k) ?? `0b${"x".repeat(bits.length - 2)}`]).toEqual([k, bits]);
      expect(
        exportFirecrackerTemplate(
          importFirecrackerTemplate(exported, "again.json", { vendor: "intel", name: "again" }),
        ),
      ).toBe(exported);
    });
  }
});
