// Plain-text tables for human output.
export function table(rows: readonly (readonly string[])[], header?: readonly string[]): string {
  const all = header ? [header, ...rows] : rows;
  const widths: number[] = [];
  for (const row of all) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, [...cell].length)));
  const line = (row: readonly string[]) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell + " ".repeat((widths[i] ?? 0) - [...cell].length)))
      .join("  ")
      .trimEnd();
  const out = all.map(line);
  if (header) out.splice(1, 0, widths.map((w) => "-".repeat(w)).join("  "));
  return out.join("\n") + "\n";
}

/** A list of names folded to a width, for feature lists. */
export function wrapList(items: readonly string[], indent = "  ", width = 100): string {
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
export function wrapHanging(head: string, items: readonly string[], indent = "  ", width = 100): string {
  const hang = " ".repeat(indent.length + head.length + 1);
  const lines: string[] = [];
  let cur = indent + head;
  let first = true;
  for (const item of items) {
    const next = first ? `${cur} ${item}` : `${cur} ${item}`;
    if (next.length > width && !first && cur.trim().length > 0 && cur !== hang.trimEnd()) {
      lines.push(cur);
      cur = hang + item;
    } else cur = next;
    first = false;
  }
  lines.push(cur);
  return lines.join("\n") + "\n";
}
