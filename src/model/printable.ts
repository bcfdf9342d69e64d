// Terminal safety for any string from input, in a module of its own: the CLI's start-up path
// (errors, --version) prints through it without loading the schema library.

/** Makes a string safe to print on a terminal: no control characters from input. */
export function printable(s: string, max = 80): string {
  const clean = s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, "?");
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}
