import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { printable } from "../../src/model/printable.ts";

/** printable as it was first written, with a regular expression: the reference. */
function referencePrintable(s: string, max = 80): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it matches
  const clean = s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, "?");
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

// Mostly the characters the rule is about, at its range edges, among ordinary and astral ones.
const unit = fc.oneof(
  fc.constantFrom(
    "\u0000",
    "\u001b",
    "\u001f",
    " ",
    "~",
    "\u007f",
    "\u009f",
    "\u00a0",
    "\u2027",
    "\u2028",
    "\u2029",
    "\u202a",
    "\u202e",
    "\u202f",
    "\u2065",
    "\u2066",
    "\u2069",
    "\u206a",
    "😀",
    "\ud800",
  ),
  fc.string({ unit: "binary", maxLength: 3 }),
);

describe("printable", () => {
  test("replaces exactly what the reference replaces, and cuts at the same length", () => {
    fc.assert(
      fc.property(fc.array(unit, { maxLength: 40 }), fc.integer({ min: 0, max: 60 }), (units, max) => {
        const s = units.join("");
        expect(printable(s, max)).toBe(referencePrintable(s, max));
      }),
      { numRuns: 3000 },
    );
  });

  test("a terminal escape from input prints as text, not as a command", () => {
    expect(printable("name\u001b[2Jx\r\n")).toBe("name?[2Jx??");
    expect(printable("ok")).toBe("ok");
  });
});
