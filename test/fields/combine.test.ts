import { expect, test } from "bun:test";
import fc from "fast-check";
import { cpuidRule, foldRegister } from "../../src/fields/combine.ts";
import type { Compare } from "../../src/policy/types.ts";

const COMPARES: Compare[] = ["subset", "superset", "le", "eq", "none"];

/** Random non-overlapping fields over 32 bits, each with a compare rule. */
const fieldsArb = fc
  .array(fc.tuple(fc.integer({ min: 1, max: 8 }), fc.constantFrom(...COMPARES), fc.boolean()), {
    minLength: 1,
    maxLength: 10,
  })
  .map((spec) => {
    const out: { lsb: number; msb: number; name: string; compare: Compare }[] = [];
    let lsb = 0;
    spec.forEach(([width, compare, gap], i) => {
      if (gap) lsb++;
      if (lsb + width > 32) return;
      out.push({ lsb, msb: lsb + width - 1, name: `f${i}`, compare });
      lsb += width;
    });
    return out;
  });

test("property: foldRegister combines each field by its rule, bit by bit against a naive reference", () => {
  fc.assert(
    fc.property(
      fieldsArb,
      fc.array(fc.nat({ max: 0xffffffff }), { minLength: 1, maxLength: 6 }),
      fc.nat(),
      (fields, values, r) => {
        const rep = r % values.length;
        const got = foldRegister(cpuidRule(fields), values, rep);
        const get = (v: number, f: { lsb: number; msb: number }) =>
          Math.floor(v / 2 ** f.lsb) % 2 ** (f.msb - f.lsb + 1);
        const eqBroken = fields.some((f) => f.compare === "eq" && values.some((v) => get(v, f) !== get(values[0]!, f)));
        if (eqBroken) {
          expect(typeof got).toBe("object");
          return;
        }
        expect(typeof got).toBe("number");
        const out = got as number;
        for (const f of fields) {
          const xs = values.map((v) => get(v, f));
          const expected =
            f.compare === "le"
              ? Math.min(...xs)
              : f.compare === "eq"
                ? xs[0]!
                : f.compare === "none"
                  ? xs[rep]!
                  : xs.reduce((a, b) => (f.compare === "subset" ? (a & b) >>> 0 : (a | b) >>> 0));
          expect(get(out, f)).toBe(expected);
        }
        // bits no field names survive only where every host has them
        const named = fields.reduce((m, f) => m | (((2 ** (f.msb - f.lsb + 1) - 1) * 2 ** f.lsb) >>> 0), 0) >>> 0;
        expect((out & ~named) >>> 0).toBe((values.reduce((a, b) => a & b) & ~named) >>> 0);
      },
    ),
    { numRuns: 300 },
  );
});
