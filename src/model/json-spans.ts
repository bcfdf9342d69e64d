// Tables the bundler carries as JSON text, with an index of where each entry's text is (policy/macro.ts,
// catalogue/macro.ts): a cold lookup parses the few entries it needs, not the whole table, since parsing
// costs by the objects it makes.

/**
 * Where each of `items` is in `json`, the text of an array of them whose first item starts at `from`: the
 * [start, end) of each item's text. Runs at bundle time; throws when the text is not the items' JSON, as an
 * index pointing elsewhere would make lookups parse the wrong entries.
 */
export function itemSpans(json: string, from: number, items: readonly unknown[]): [number, number][] {
  const spans: [number, number][] = [];
  let at = from;
  for (const item of items) {
    const text = JSON.stringify(item);
    if (!json.startsWith(text, at)) throw new Error(`JSON table: item ${spans.length} is not at offset ${at}`);
    spans.push([at, at + text.length]);
    at += text.length + 1; // and the comma
  }
  return spans;
}

/**
 * The offset in `records` (runs of `stride` numbers, ascending by their first number, the key) of the record whose
 * key is `key`, or -1: a binary search, so a lookup reads a few records of an index instead of building a map of it.
 */
export function findRecord(records: readonly number[], stride: number, key: number): number {
  let lo = 0;
  let hi = records.length / stride - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const k = records[mid * stride]!;
    if (k === key) return mid * stride;
    if (k < key) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
