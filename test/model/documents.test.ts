// Documents that JSON and the schema accept but that say two things at once are refused with the
// file and JSON path: overlapping adjustments, a host profile with adjustments, a host whose vendor
// contradicts CPUID leaf 0, a host without CPUID, duplicate keys. And a writer never emits what
// its reader refuses.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { embeddedProfile } from "../../src/embedded/profiles.ts";
import { InputError } from "../../src/errors.ts";
import { firstDuplicateKey, parseJsonText } from "../../src/model/document.ts";
import { parseHostCapture } from "../../src/model/host.ts";
import { parseProfile, profileToJson, serializeProfile, type Profile } from "../../src/model/profile.ts";
import { hex32 } from "../../src/model/hex.ts";
import { thrown } from "../helpers/thrown.ts";
import { loadSeeds } from "../quality/generators.ts";

const skylake = () => embeddedProfile("skylake")!;
const ownHost = () =>
  structuredClone(loadSeeds().find((s) => s.label === "synthetic:own")!.doc) as Record<string, unknown> & {
    cpuid: Record<string, string>[];
  };

describe("profiles", () => {
  const adj = (leaf: string, start: string, end: string, register: string) => ({
    leaf,
    subleaf: { start, end },
    register,
    replacements: "0x0",
    mask: "0xffffffff",
  });
  // Version 1 documents: one entry per (leaf, subleaf range, register), so each range is placed by hand.
  const withCpuid = (cpuid: object[]) => ({
    ...(profileToJson(skylake()) as object),
    formatVersion: 1,
    permittedMsrs: skylake().permittedMsrs.map(hex32),
    cpuid,
  });

  test("two overlapping EBX ranges are refused even when an EAX entry sorts between them", () => {
    const between = withCpuid([
      adj("0x7", "0x0", "0xa", "ebx"),
      adj("0x7", "0x1", "0x1", "eax"),
      adj("0x7", "0x1", "0x1", "ebx"),
    ]);
    const e = thrown(() => parseProfile(between, "p.json"));
    expect(e).toBeInstanceOf(InputError);
    expect(e.message).toBe("p.json: $.cpuid[2]: overlaps $.cpuid[0] (leaf 0x7 EBX)");
    // the same pair alone, as before
    expect(
      thrown(() =>
        parseProfile(withCpuid([adj("0x7", "0x0", "0xa", "ebx"), adj("0x7", "0x1", "0x1", "ebx")]), "p.json"),
      ).message,
    ).toContain("overlaps");
    // disjoint ranges of one register, and the same range in different registers, are fine
    expect(
      parseProfile(
        withCpuid([adj("0x7", "0x0", "0x0", "ebx"), adj("0x7", "0x0", "0x0", "eax"), adj("0x7", "0x1", "0x1", "ebx")]),
        "p.json",
      ).cpuid,
    ).toHaveLength(3);
  });

  test("property: any two ranges of one (leaf, register) that intersect are refused, whatever else is in the list", () => {
    const range = fc
      .tuple(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 20 }))
      .map(([a, b]) => [Math.min(a, b), Math.max(a, b)] as const);
    fc.assert(
      fc.property(
        range,
        range,
        fc.array(fc.tuple(fc.constantFrom("eax", "ecx", "edx"), range), { maxLength: 6 }),
        (r1, r2, others) => {
          const hex = (n: number) => `0x${n.toString(16)}`;
          const cpuid = [adj("0x7", hex(r1[0]), hex(r1[1]), "ebx"), adj("0x7", hex(r2[0]), hex(r2[1]), "ebx")];
          // other registers' ranges, kept disjoint among themselves per register
          const used = new Map<string, boolean[]>();
          for (const [reg, [s, e]] of others) {
            const taken = used.get(reg) ?? [];
            if (taken.slice(s, e + 1).some(Boolean)) continue;
            for (let i = s; i <= e; i++) taken[i] = true;
            used.set(reg, taken);
            cpuid.push(adj("0x7", hex(s), hex(e), reg));
          }
          const intersect = r1[0] <= r2[1] && r2[0] <= r1[1];
          const outcome = (() => {
            try {
              parseProfile(withCpuid(cpuid), "p.json");
              return "ok";
            } catch (e) {
              return (e as Error).message;
            }
          })();
          if (intersect) expect(outcome).toMatch(/overlaps .*EBX/);
          else expect(outcome).toBe("ok");
        },
      ),
      { numRuns: 300 },
    );
  });

  test("version 2: an overlap names the entries' registers; an entry without registers is refused", () => {
    const v2 = (cpuid: object[]) => ({ ...(profileToJson(skylake()) as object), cpuid });
    const e = thrown(() =>
      parseProfile(
        v2([
          { leaf: "0x7", subleaf: { start: "0x0", end: "0xa" }, ebx: "0x1" },
          { leaf: "0x7", subleaf: { start: "0x1", end: "0x1" }, eax: "0x0", ebx: ["0x0", "0xffffffff"] },
        ]),
        "p.json",
      ),
    );
    expect(e.message).toBe("p.json: $.cpuid[1].ebx: overlaps $.cpuid[0].ebx (leaf 0x7 EBX)");
    expect(thrown(() => parseProfile(v2([{ leaf: "0x7" }]), "p.json")).message).toMatch(
      /^p\.json: \$\.cpuid\[0\]: expected at least one of eax, ebx, ecx, edx/,
    );
    const back = parseProfile(
      v2([
        { leaf: "0x7", subleaf: { start: "0x0", end: "0x0" }, ebx: ["0x1", "0x2"] },
        { leaf: "0xd", ecx: "0x3" },
      ]),
      "p.json",
    ).cpuid;
    expect(back).toEqual([
      { leaf: 7, subleaf: { start: 0, end: 0 }, register: "ebx", replacements: 1, mask: 2 },
      { leaf: 0xd, subleaf: { start: 0, end: 0xffffffff }, register: "ecx", replacements: 3, mask: 0 },
    ]);
  });

  test('a kind "host" profile with adjustments is refused', () => {
    const host = profileToJson(embeddedProfile("host")!) as Record<string, unknown>;
    expect(parseProfile(host, "h.json").kind).toBe("host");
    const cpuid = (profileToJson(skylake()) as { cpuid: unknown[] }).cpuid.slice(0, 1);
    expect(thrown(() => parseProfile({ ...host, cpuid }, "h.json")).message).toBe(
      'h.json: $.cpuid: expected none for kind "host" (the host as it is), got 1',
    );
    expect(
      thrown(() => parseProfile({ ...host, msrs: [{ index: "0x10a", replacements: "0x0", mask: "0x0" }] }, "h.json"))
        .message,
    ).toContain("$.msrs: expected none");
    expect(thrown(() => parseProfile({ ...host, permittedMsrs: ["0x10"] }, "h.json")).message).toContain(
      "$.permittedMsrs: expected none",
    );
  });

  test("serializeProfile refuses what parseProfile would refuse (e.g. more than 8192 adjustments)", () => {
    const many: Profile = {
      ...skylake(),
      cpuid: Array.from({ length: 8193 }, (_, i) => ({
        leaf: i,
        subleaf: { start: 0, end: 0 },
        register: "eax" as const,
        replacements: 0,
        mask: 0,
      })),
    };
    const e = thrown(() => serializeProfile(many));
    expect(e).toBeInstanceOf(InputError);
    expect(e.message).toMatch(/^the profile to write \(skylake\): \$\.cpuid: expected <=8192/);
    expect(serializeProfile(skylake())).toContain('"name": "skylake"');
  });
});

describe("hosts", () => {
  test("the synthetic host parses as it is", () => {
    expect(parseHostCapture(ownHost(), "h.json").vendor).toBe("intel");
  });

  test("a host whose vendor contradicts CPUID leaf 0 is refused", () => {
    const e = thrown(() => parseHostCapture({ ...ownHost(), vendor: "amd" }, "h.json"));
    expect(e).toBeInstanceOf(InputError);
    expect(e.message).toBe('h.json: $.vendor: expected "intel" as $.cpuid[0] (leaf 0) says "GenuineIntel", got "amd"');
  });

  test("a host with no CPUID entries is refused", () => {
    const e = thrown(() => parseHostCapture({ ...ownHost(), cpuid: [] }, "h.json"));
    expect(e).toBeInstanceOf(InputError);
    expect(e.message).toBe("h.json: $.cpuid: expected at least one CPUID entry, got an array");
  });
});

describe("duplicate keys", () => {
  test("are refused with the path of the second occurrence", () => {
    expect(thrown(() => parseJsonText('{"a": {"b": [1, {"c": 1, "c": 2}]}}', "f.json")).message).toBe(
      "f.json: $.a.b[1].c: duplicate key (JSON.parse would keep only the last)",
    );
    // escapes spell the same key
    expect(firstDuplicateKey('{"ab": 1, "a\\u0062": 2}')).toBe("$.ab");
    expect(firstDuplicateKey('{"a\\"": 1, "x": "\\\\", "a\\"": 2}')).toBe('$["a\\""]');
    // the same key in sibling objects is not a duplicate
    expect(firstDuplicateKey('[{"a": 1}, {"a": 2}, {"b": {"a": 3}}]')).toBeUndefined();
  });

  test("property: JSON.stringify output never has one; adding a key twice to any object is found", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), fc.string({ maxLength: 5 }), (value, key) => {
        const text = JSON.stringify(value);
        expect(firstDuplicateKey(text)).toBeUndefined();
        const k = JSON.stringify(key);
        const doubled = `{${k}: ${text}, "other": 1, ${k}: null}`;
        expect(firstDuplicateKey(doubled)).toBeDefined();
      }),
      { numRuns: 300 },
    );
  });
});
