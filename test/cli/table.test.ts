import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { fold, foldText, KEEP } from "../../src/cli/table.ts";

/** fold as it was first written (a code-point spread per length, the line's trim per word): the reference. */
function referenceFold(line: string, width: number, hang: number): string[] {
  const len = (s: string) => [...s].length;
  if (len(line) <= width) return [line];
  const lead = /^ */.exec(line)![0];
  const words = line.slice(lead.length).split(" ");
  const out: string[] = [];
  let cur = lead;
  for (const w of words) {
    if (cur.trim() && len(cur) + 1 + len(w) > width) {
      out.push(cur);
      cur = " ".repeat(hang) + w;
    } else cur = cur.trim() ? `${cur} ${w}` : cur + w;
  }
  out.push(cur);
  return out;
}

// Words of spaces, no-break spaces (KEEP), tabs, letters, characters beyond the BMP and lone surrogates.
const piece = fc.constantFrom(
  " ",
  "  ",
  KEEP,
  "\t",
  "a",
  "bb",
  "word",
  "longerword",
  "é",
  "😀",
  "x😀y",
  "\ud800",
  "\udc00",
  "a\ud83d",
);
const line = fc.array(piece, { maxLength: 60 }).map((ps) => ps.join(""));

describe("fold", () => {
  test("folds exactly as the reference, whatever the spaces, blanks and wide characters", () => {
    fc.assert(
      fc.property(line, fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 8 }), (l, width, hang) => {
        expect(fold(l, width, hang)).toEqual(referenceFold(l, width, hang));
      }),
      { numRuns: 2000 },
    );
  });

  test("counts a character beyond the BMP once: ten emoji fit in a width of ten", () => {
    expect(fold("😀".repeat(10), 10)).toEqual(["😀".repeat(10)]);
    expect(fold(`${"😀".repeat(5)} ${"😀".repeat(5)}`, 10)).toEqual(["😀".repeat(5), `    ${"😀".repeat(5)}`]);
  });

  test("foldText keeps KEEP-joined words together and prints them with a space", () => {
    expect(foldText(`aaaa bbbb NOT${KEEP}SAFE\n`, 12)).toBe("aaaa bbbb\n    NOT SAFE\n");
  });
});
