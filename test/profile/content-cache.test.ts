// Content-keyed canonical objects (apply's cache for fresh objects with content seen before).
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { embeddedProfile, embeddedProfileNames } from "../../src/embedded/profiles.ts";
import { nestedCpuidFieldsOf } from "../../src/policy/index.ts";
import { applyProfile, applyProfileWith } from "../../src/profile/apply.ts";
import { checkCompatibility } from "../../src/profile/compat.ts";
import { ContentCache, sameContent } from "../../src/profile/content-cache.ts";
import { FIXTURE_HOSTS, fixtureHost, fixturesMissing } from "../helpers/fixtures.ts";

/** Oracle: a canonical text of plain data (keys sorted, bigints and undefined marked). */
function canonicalText(v: unknown): string {
  if (typeof v === "bigint") return `${v}n`;
  if (v === undefined) return "undefined";
  if (Array.isArray(v)) return `[${v.map(canonicalText).join(",")}]`;
  if (v !== null && typeof v === "object")
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalText((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  return JSON.stringify(v);
}

const plain = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.integer(),
    fc.bigInt(),
    fc.constantFrom("a", "b", ""),
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(fc.constantFrom("a", "b", "c"), tie("value"), { maxKeys: 3 }),
  ),
})).value;

describe("sameContent", () => {
  test("equal exactly when the canonical texts are equal (key order ignored, a missing key is not an undefined one)", () => {
    fc.assert(
      fc.property(plain, plain, (a, b) => {
        expect(sameContent(a, b)).toBe(canonicalText(a) === canonicalText(b));
        expect(sameContent(a, structuredClone(a))).toBe(true);
      }),
      { numRuns: 2000 },
    );
    expect(sameContent({ a: undefined }, { b: undefined })).toBe(false);
    expect(sameContent({ a: 1, b: 2 }, { b: 2, a: 1 })).toBe(true);
    expect(sameContent([1n << 40n], [1n << 40n])).toBe(true);
    expect(sameContent([1n], [1])).toBe(false);
  });
});

describe("ContentCache", () => {
  test("one private copy per content: equal content maps to it, changes to a caller's object never reach it", () => {
    const cache = new ContentCache<{ xs: number[] }>((v) => String(v.xs.length));
    const a = { xs: [1, 2] };
    const ca = cache.canonical(a);
    expect(ca).not.toBe(a);
    expect(ca).toEqual(a);
    expect(cache.canonical({ xs: [1, 2] })).toBe(ca);
    expect(cache.canonical({ xs: [2, 1] })).not.toBe(ca);
    a.xs.push(3); // a mutated after its first use: the copy keeps what it was
    expect(ca.xs).toEqual([1, 2]);
    expect(cache.canonical({ xs: [1, 2] })).toBe(ca);
  });

  test("property: the canonical object of plain data is a separate copy with the same content, and equal content finds it", () => {
    fc.assert(
      fc.property(plain, (v) => {
        const cache = new ContentCache<{ v: unknown }>(() => "k");
        const value = { v };
        const c = cache.canonical(value);
        expect(c).not.toBe(value);
        expect(sameContent(c, value)).toBe(true);
        expect(cache.canonical(structuredClone(value))).toBe(c);
      }),
      { numRuns: 1000 },
    );
  });

  test("a value that is not plain data (a typed array, a class instance, an own __proto__ key) is its own canonical object, never copied", () => {
    const cache = new ContentCache<Record<string, unknown>>(() => "k");
    for (const odd of [
      { b: new Uint8Array([1]) },
      { d: new Date(0) },
      JSON.parse('{"__proto__": {"x": 1}}'),
      { f: () => 1 },
    ]) {
      expect(cache.canonical(odd)).toBe(odd);
      expect(cache.canonical(odd)).toBe(odd);
    }
  });

  test("the key only narrows candidates: a key shared by different contents still tells them apart", () => {
    const cache = new ContentCache<{ v: number }>(() => "same", 4);
    const seen = [1, 2, 3].map((v) => cache.canonical({ v }));
    expect(new Set(seen).size).toBe(3);
    [1, 2, 3].forEach((v, i) => expect(cache.canonical({ v })).toBe(seen[i]!));
    for (let v = 10; v < 20; v++) expect(cache.canonical({ v }).v).toBe(v); // past capacity: starts again, still correct
  });
});

const fixtureTest = fixturesMissing ? test.skip : test;

describe("applyProfile with fresh objects", () => {
  fixtureTest(
    "the same result as an uncached apply, for equal content, for content changed after a first call, and for changed copies",
    () => {
      for (const hostName of FIXTURE_HOSTS.slice(0, 4).map((h) => h.name)) {
        for (const name of embeddedProfileNames()) {
          const original = embeddedProfile(name)!;
          const host = fixtureHost(hostName);
          if (original.vendor !== host.vendor) continue;
          const uncached = (p: typeof original) =>
            applyProfileWith(
              { nestedFields: () => nestedCpuidFieldsOf(p.vendor), check: checkCompatibility },
              structuredClone(p),
              structuredClone(host),
              { checkGuestMsrs: false },
            );
          const first = structuredClone(original);
          expect(applyProfile(first, host, { checkGuestMsrs: false })).toEqual(uncached(original));
          // the caller's object changes after its first call; fresh objects with the original content are unaffected
          first.permittedMsrs = first.permittedMsrs.slice(1);
          expect(applyProfile(structuredClone(original), structuredClone(host), { checkGuestMsrs: false })).toEqual(
            uncached(original),
          );
          // a copy that differs in one permitted MSR or one CPUID mask gets its own result
          const fewer = { ...structuredClone(original), permittedMsrs: original.permittedMsrs.slice(1) };
          expect(applyProfile(fewer, structuredClone(host), { checkGuestMsrs: false })).toEqual(uncached(fewer));
          const masked = structuredClone(original);
          if (masked.cpuid[0]) masked.cpuid[0] = { ...masked.cpuid[0], mask: (masked.cpuid[0].mask ^ 1) >>> 0 };
          expect(applyProfile(masked, structuredClone(host), { checkGuestMsrs: false })).toEqual(uncached(masked));
        }
      }
    },
  );
});
