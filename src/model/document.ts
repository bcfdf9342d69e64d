// Reading a JSON document against a valibot schema, with one-line errors that
// name the file, the JSON path and what was expected.
import * as v from "valibot";
import { InputError } from "../errors.ts";
import { parseHex32, parseHex64 } from "./hex.ts";

/** Largest document we read; anything bigger is refused before parsing. */
export const MAX_DOCUMENT_BYTES = 8 * 1024 * 1024;

/** Makes a string safe to print on a terminal: no control characters from input. */
export function printable(s: string, max = 80): string {
  const clean = s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, "?");
  return clean.length > max ? clean.slice(0, max) + "…" : clean;
}

function pathOf(issue: v.BaseIssue<unknown>): string {
  let out = "$";
  for (const item of issue.path ?? []) {
    const key = (item as { key?: unknown }).key;
    if (typeof key === "number") out += `[${key}]`;
    else if (typeof key === "string" && /^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) out += "." + key;
    else out += `[${JSON.stringify(printable(String(key), 40))}]`;
  }
  return out;
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(printable(value, 40));
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  return printable(String(value), 40);
}

/** The one-line message for the first problem valibot found. */
export function formatIssue(file: string, issue: v.BaseIssue<unknown>): string {
  // Our own messages ("a lower-case 0x hex string ...") read better than valibot's `expected`
  // (a regex, a length); valibot's default messages start with "Invalid".
  const custom = issue.kind === "validation" && !issue.message.startsWith("Invalid");
  const expected = custom ? issue.message : (issue.expected ?? issue.message);
  const got = issue.kind === "schema" || issue.input !== undefined ? `, got ${describe(issue.input)}` : "";
  return `${printable(file, 200)}: ${pathOf(issue)}: expected ${printable(expected ?? "something else", 120)}${got}`;
}

/** JSON.parse with a one-line error naming the file. */
export function parseJsonText(text: string, file: string): unknown {
  if (text.length > MAX_DOCUMENT_BYTES) throw new InputError(`${printable(file, 200)}: larger than ${MAX_DOCUMENT_BYTES} bytes`);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new InputError(`${printable(file, 200)}: not valid JSON (${printable((e as Error).message, 100)})`);
  }
}

/** Validates `data` against `schema`, throwing an InputError with file and JSON path. */
export function parseWith<TSchema extends v.GenericSchema>(schema: TSchema, data: unknown, file: string): v.InferOutput<TSchema> {
  const result = v.safeParse(schema, data);
  if (result.success) return result.output;
  throw new InputError(formatIssue(file, result.issues[0]));
}

// Reusable field schemas.
// Regex and length (not only a check function) so the generated JSON Schema carries them too.
export const CANONICAL_HEX_RE = /^0x(0|[1-9a-f][0-9a-f]*)$/;
export const hexString = v.pipe(v.string(), v.maxLength(130), v.regex(CANONICAL_HEX_RE, "a lower-case 0x hex string without padding"));
export const hexU32 = v.pipe(
  v.string(),
  v.regex(CANONICAL_HEX_RE, "a lower-case 0x hex string without padding"),
  v.maxLength(10, "a 32-bit hex value"),
  v.check((s) => parseHex32(s) !== undefined, "a 32-bit hex value"),
  v.transform((s) => parseHex32(s)!),
);
export const hexU64 = v.pipe(
  v.string(),
  v.regex(CANONICAL_HEX_RE, "a lower-case 0x hex string without padding"),
  v.maxLength(18, "a 64-bit hex value"),
  v.check((s) => parseHex64(s) !== undefined, "a 64-bit hex value"),
  v.transform((s) => parseHex64(s)!),
);
export const registerName = v.picklist(["eax", "ebx", "ecx", "edx"]);
export const vendorName = v.picklist(["intel", "amd"]);

/** Deterministic JSON: fixed key order comes from how objects are built; 2-space indent, final newline. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, null, 2) + "\n";
}
