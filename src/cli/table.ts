// Plain-text tables and lists for human output, every line within a width (100 columns: what a
// terminal shows without wrapping), unless one word is longer.

/** The width human output keeps within. */
export const TEXT_WIDTH = 100;

/**
 * Length in characters (code points): a character beyond the BMP takes two code units, a surrogate pair.
 * Counted by a loop, not a regular expression (the first of a process costs ~0.1 ms): this runs per word.
 */
function len(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdbff) continue;
    const next = s.charCodeAt(i + 1);
    // A pair counts once; a lone surrogate counts as one, as the string's iterator yields it.
    if (next >= 0xdc00 && next <= 0xdfff) {
      n--;
      i++;
    }
  }
  return n;
}

/** The leading spaces of a line. */
function leadingSpaces(line: string): string {
  let i = 0;
  while (line.charCodeAt(i) === 0x20) i++;
  return line.slice(0, i);
}

/** One line folded at spaces to `width`, continuation lines indented by `hang` spaces. */
export function fold(line: string, width = TEXT_WIDTH, hang = 4): string[] {
  if (len(line) <= width) return [line];
  const lead = leadingSpaces(line);
  const words = line.slice(lead.length).split(" ");
  const out: string[] = [];
  // The current line, its length, and whether it has a word yet (more than blanks), kept as it grows.
  let cur = lead;
  let curLen = lead.length;
  let hasWord = false;
  for (const w of words) {
    const wLen = len(w);
    const blank = w.trim() === "";
    if (hasWord && curLen + 1 + wLen > width) {
      out.push(cur);
      cur = " ".repeat(hang) + w;
      curLen = hang + wLen;
      hasWord = !blank;
    } else if (hasWord) {
      cur = `${cur} ${w}`;
      curLen += 1 + wLen;
    } else {
      cur += w;
      curLen += wLen;
      hasWord = !blank;
    }
  }
  out.push(cur);
  return out;
}

/** Joins words that must stay on one line ("NOT SAFE") so fold never splits them. */
export const KEEP = "\u00a0";

/** Text whose every line is folded (see fold); keeps a final newline. KEEP joins become spaces. */
export function foldText(text: string, width = TEXT_WIDTH, hang = 4): string {
  const end = text.endsWith("\n");
  const lines: string[] = [];
  for (const l of (end ? text.slice(0, -1) : text).split("\n")) lines.push(...fold(l, width, hang));
  return lines.join("\n").replaceAll(KEEP, " ") + (end ? "\n" : "");
}

/**
 * Columns aligned; a last column that would pass `width` wraps under itself ("wrap") or is cut
 * with an ellipsis ("cut").
 */
export function table(
  rows: readonly (readonly string[])[],
  header?: readonly string[],
  options: { width?: number; overflow?: "wrap" | "cut" } = {},
): string {
  const width = options.width ?? TEXT_WIDTH;
  const all = header ? [header, ...rows] : rows;
  const widths: number[] = [];
  for (const row of all) for (let i = 0; i < row.length; i++) widths[i] = Math.max(widths[i] ?? 0, len(row[i]!));
  const columns = widths.length;
  let lastStart = 0;
  for (let i = 0; i < columns - 1; i++) lastStart += widths[i]! + 2;
  const lastRoom = Math.max(20, width - lastStart);
  if (columns > 0) widths[columns - 1] = Math.min(widths[columns - 1]!, lastRoom);
  const pad = (cell: string, i: number) => cell + " ".repeat(Math.max(0, (widths[i] ?? 0) - len(cell)));
  const out: string[] = [];
  const emitRow = (row: readonly string[]) => {
    const head = row.slice(0, -1).map(pad).join("  ");
    const last = row[row.length - 1] ?? "";
    const prefix = row.length > 1 ? `${head}  ` : "";
    if (len(last) <= lastRoom) return void out.push((prefix + last).trimEnd());
    if (options.overflow === "cut") return void out.push(`${prefix + [...last].slice(0, lastRoom - 1).join("")}…`);
    const pieces = fold(last, lastRoom, 0);
    out.push((prefix + pieces[0]).trimEnd(), ...pieces.slice(1).map((p) => (" ".repeat(len(prefix)) + p).trimEnd()));
  };
  if (header) {
    emitRow(header);
    out.push(widths.map((w) => "-".repeat(w)).join("  "));
  }
  for (const row of rows) emitRow(row);
  return `${out.join("\n")}\n`;
}

/** A list of names folded to a width, for feature lists. */
export function wrapList(items: readonly string[], indent = "  ", width = TEXT_WIDTH): string {
  const lines: string[] = [];
  let cur = "";
  for (const item of items) {
    const next = cur ? `${cur} ${item}` : item;
    if (indent.length + next.length > width && cur) {
      lines.push(indent + cur);
      cur = item;
    } else cur = next;
  }
  if (cur) lines.push(indent + cur);
  return lines.join("\n") + (lines.length ? "\n" : "");
}

/** `head` and then the items, folded to `width` with a hanging indent under the first item. */
export function wrapHanging(head: string, items: readonly string[], indent = "  ", width = TEXT_WIDTH): string {
  const hang = " ".repeat(indent.length + head.length + 1);
  const lines: string[] = [];
  let cur = indent + head;
  let first = true;
  for (const item of items) {
    if (!first && cur.length + 1 + item.length > width) {
      lines.push(cur);
      cur = hang + item;
    } else cur = `${cur} ${item}`;
    first = false;
  }
  lines.push(cur);
  return `${lines.join("\n")}\n`;
}
