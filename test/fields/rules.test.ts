// fields: the one reading of the compare rules and the bit helpers, for both widths.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { bitMask32, bitMask64, fieldValue, highestBit, lowestBit, placeValue } from "../../src/fields/bits.ts";
import { compareField, effectiveValue } from "../../src/fields/rules.ts";

describe("compareField and fieldValue", () => {
  const u64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
  test("subset holds exactly when a AND NOT b is empty; superset is subset reversed", () => {
    fc.assert(
      fc.property(
        u64,
        u64,
        (a, b) =>
          compareField("subset", a, b) === ((a & ~b) === 0n) &&
          compareField("superset", a, b) === compareField("subset", b, a),
      ),
      { numRuns: 200 },
    );
  });
  test("every value is a subset of itself and of its OR with anything; le and eq follow numbers", () => {
    fc.assert(
      fc.property(
        u64,
        u64,
        (a, b) =>
          compareField("subset", a, a | b) &&
          compareField("le", a, a + b) &&
          compareField("eq", a, a) &&
          (a === b || !compareField("eq", a, b)) &&
          compareField("none", a, b),
      ),
      { numRuns: 200 },
    );
  });
  test("fieldValue extracts bits lsb..msb for numbers and bigints alike", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 0, max: 31 }),
        fc.integer({ min: 0, max: 31 }),
        (v, x, y) => {
          const f = { lsb: Math.min(x, y), msb: Math.max(x, y) };
          return (
            BigInt(fieldValue(f, v)) === fieldValue(f, BigInt(v)) &&
            fieldValue(f, v) === Number((BigInt(v) >> BigInt(f.lsb)) & ((1n << BigInt(f.msb - f.lsb + 1)) - 1n))
          );
        },
      ),
      { numRuns: 200 },
    );
    expect(fieldValue({ lsb: 8, msb: 15 }, 0x12345678)).toBe(0x56);
  });
});

describe("masks and effective values", () => {
  test("the 32-bit mask is the 64-bit mask of the same range, for every range inside 32 bits", () => {
    for (let lsb = 0; lsb < 32; lsb++)
      for (let msb = lsb; msb < 32; msb++) expect(BigInt(bitMask32(lsb, msb))).toBe(bitMask64(lsb, msb));
  });
  test("lowestBit and highestBit find the ends of a value's set bits, and -1 for zero", () => {
    expect([lowestBit(0x50n), highestBit(0x50n), lowestBit(0), highestBit(0)]).toEqual([4, 6, -1, -1]);
    expect(highestBit(1n << 63n)).toBe(63);
  });
  test("a field whose 0 means other bits (guest_phys_addr_bits) compares as those bits when it is 0", () => {
    const gpa = { lsb: 16, msb: 23, zeroMeans: { lsb: 0, msb: 7 } };
    expect(effectiveValue(gpa, 0x0000_302e)).toBe(0x2e);
    expect(effectiveValue(gpa, 0x0030_302e)).toBe(0x30);
    expect(effectiveValue({ lsb: 0, msb: 31 }, 0xffff_ffff)).toBe(0xffff_ffff);
  });
});

describe("placing a value in a field", () => {
  test("placeValue is fieldValue's inverse on the field's bits, for numbers and bigints alike", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 0, max: 31 }),
        fc.integer({ min: 0, max: 31 }),
        (v, x, y) => {
          const f = { lsb: Math.min(x, y), msb: Math.max(x, y) };
          const placed = placeValue(f, v);
          return (
            fieldValue(f, placed) === fieldValue({ lsb: 0, msb: f.msb - f.lsb }, v) &&
            (placed & ~bitMask32(f.lsb, f.msb)) === 0 &&
            BigInt(placed) === placeValue(f, BigInt(v))
          );
        },
      ),
      { numRuns: 300 },
    );
  });
});
