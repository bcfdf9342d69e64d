// Terminal safety for any string from input, in a module of its own: the CLI's start-up path
// (errors, --version) prints through it without loading the schema library.

/** C0 and C1 controls, line/paragraph separators, bidi embeddings/overrides and isolates: what a terminal acts on. */
function isUnsafe(c: number): boolean {
  return (
    c <= 0x1f ||
    (c >= 0x7f && c <= 0x9f) ||
    c === 0x2028 ||
    c === 0x2029 ||
    (c >= 0x202a && c <= 0x202e) ||
    (c >= 0x2066 && c <= 0x2069)
  );
}

/**
 * Makes a string safe to print on a terminal: each unsafe code unit becomes "?". A loop over code units rather
 * than a regular expression: the first regular expression of a process costs ~0.1 ms, and this runs on every
 * command's output.
 */
export function printable(s: string, max = 80): string {
  let clean = "";
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    if (!isUnsafe(s.charCodeAt(i))) continue;
    clean += `${s.slice(from, i)}?`;
    from = i + 1;
  }
  clean = from === 0 ? s : clean + s.slice(from);
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}
