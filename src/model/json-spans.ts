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
