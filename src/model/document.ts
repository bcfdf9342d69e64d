// Reading a JSON document against a valibot schema, with one-line errors that
// name the file, the JSON path and what was expected.
import * as v from "valibot";
import { InputError } from "../errors.ts";
import { parseHex32, parseHex64 } from "./hex.ts";

/** Largest document we read; anything bigger is refused before parsing. */
export const MAX_DOCUMENT_BYTES = 8 * 1024 * 1024;

import { once } from "./memo.ts";
import { printable } from "./printable.ts";
export { printable };

function pathOf(issue: v.BaseIssue<unknown>): string {
  let out = "$";
  for (const item of issue.path ?? []) {
    const key = (item as { key?: unknown }).key;
    if (typeof key === "number") out += `[${key}]`;
    else if (typeof key === "string" && /^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) out += `.${key}`;
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
  // A strict object's unknown key: valibot says "expected never"; say what it is.
  if (issue.expected === "never")
    return `${printable(file, 200)}: ${pathOf(issue)}: unknown key (not part of the format; a typo, or a file of a newer version?)`;
  const custom = issue.kind === "validation" && !issue.message.startsWith("Invalid");
  const expected = custom ? issue.message : (issue.expected ?? issue.message);
  const got = issue.kind === "schema" || issue.input !== undefined ? `, got ${describe(issue.input)}` : "";
  return `${printable(file, 200)}: ${pathOf(issue)}: expected ${printable(expected ?? "something else", 120)}${got}`;
}

/** JSON.parse with a one-line error naming the file. */
export function parseJsonText(text: string, file: string): unknown {
  if (text.length > MAX_DOCUMENT_BYTES)
    throw new InputError(`${printable(file, 200)}: larger than ${MAX_DOCUMENT_BYTES} bytes`);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new InputError(`${printable(file, 200)}: not valid JSON (${printable((e as Error).message, 100)})`);
  }
  const duplicate = firstDuplicateKey(text);
  if (duplicate !== undefined)
    throw new InputError(`${printable(file, 200)}: ${duplicate}: duplicate key (JSON.parse would keep only the last)`);
  return data;
}

/**
 * The JSON path of the first key that appears twice in one object of `text`, which must be valid
 * JSON (JSON.parse has accepted it). One pass; memory: the key sets of the open objects only.
 */
export function firstDuplicateKey(text: string): string | undefined {
  interface Frame {
    keys: Set<string> | undefined; // undefined: an array
    at: string | number; // current key or index
    expectKey: boolean;
  }
  const stack: Frame[] = [];
  const n = text.length;
  let nextBackslash = -2; // position of the next backslash at or after the current string; -1: none left
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      // The closing quote: the next '"' when no backslash comes first, else walk the escapes.
      let j = text.indexOf('"', i + 1);
      if (nextBackslash !== -1 && nextBackslash <= i) nextBackslash = text.indexOf("\\", i + 1);
      const escaped = nextBackslash !== -1 && nextBackslash < j;
      if (escaped) {
        j = i + 1;
        while (text.charCodeAt(j) !== 0x22) j += text.charCodeAt(j) === 0x5c ? 2 : 1;
      }
      const top = stack[stack.length - 1];
      if (top?.keys && top.expectKey) {
        const raw = text.slice(i + 1, j);
        const key = escaped ? (JSON.parse(text.slice(i, j + 1)) as string) : raw;
        if (top.keys.has(key)) return jsonPath([...stack.slice(0, -1).map((f) => f.at), key]);
        top.keys.add(key);
        top.at = key;
        top.expectKey = false;
      }
      i = j;
    } else if (c === 0x7b /* { */) stack.push({ keys: new Set(), at: "", expectKey: true });
    else if (c === 0x5b /* [ */) stack.push({ keys: undefined, at: 0, expectKey: false });
    else if (c === 0x7d /* } */ || c === 0x5d /* ] */) stack.pop();
    else if (c === 0x2c /* , */) {
      const top = stack[stack.length - 1]!;
      if (top.keys) top.expectKey = true;
      else (top.at as number)++;
    }
  }
  return undefined;
}

function jsonPath(parts: readonly (string | number)[]): string {
  let out = "$";
  for (const key of parts) {
    if (typeof key === "number") out += `[${key}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) out += `.${key}`;
    else out += `[${JSON.stringify(printable(key, 40))}]`;
  }
  return out;
}

/** Validates `data` against `schema`, throwing an InputError with file and JSON path. */
export function parseWith<TSchema extends v.GenericSchema>(
  schema: TSchema,
  data: unknown,
  file: string,
): v.InferOutput<TSchema> {
  // abortEarly: stop at the first issue. Without it an array of millions of bad items records an
  // issue object per item (gigabytes) though only the first is ever printed.
  const result = v.safeParse(schema, data, { abortEarly: true });
  if (result.success) return result.output;
  throw new InputError(formatIssue(file, result.issues[0]));
}

/**
 * One kind of document cpuprof reads and writes (a host capture, a profile): its schema, how the validated wire
 * form becomes the model (with the checks a schema cannot express), and the model's wire form. Every document
 * is read by parseDocument and written by serializeDocument, so a writer emits only what its reader accepts.
 */
export interface DocumentCodec<TSchema extends v.GenericSchema, T> {
  /** Built on first use (fieldSchemas says why). */
  schema: () => TSchema;
  /** The model of a validated wire form; throws InputError naming `file` where it is inconsistent. */
  fromWire(wire: v.InferOutput<TSchema>, file: string): T;
  /** The wire form, with a fixed key order so the same value is the same bytes. */
  toWire(value: T): object;
}

export function parseDocument<TSchema extends v.GenericSchema, T>(
  codec: DocumentCodec<TSchema, T>,
  data: unknown,
  file: string,
): T {
  return codec.fromWire(parseWith(codec.schema(), data, file), file);
}

/** The document's text, after reading its wire form back as its reader would (`what` names it in an error). */
export function serializeDocument<TSchema extends v.GenericSchema, T>(
  codec: DocumentCodec<TSchema, T>,
  value: T,
  what: string,
): string {
  const wire = codec.toWire(value);
  parseDocument(codec, wire, what);
  return stableJson(wire);
}

// Reusable field schemas.
// Regex and length (not only a check function) so the generated JSON Schema carries them too.
export const CANONICAL_HEX_RE = /^0x(0|[1-9a-f][0-9a-f]*)$/;
/** A canonical hex string of at most `bits` bits, parsed to its value (number for 32 bits, bigint for 64). */
function hexOfWidth<T>(bits: 32 | 64, parse: (s: string) => T | undefined) {
  const what = `a ${bits}-bit hex value`;
  return v.pipe(
    v.string(),
    v.regex(CANONICAL_HEX_RE, "a lower-case 0x hex string without padding"),
    v.maxLength(2 + bits / 4, what),
    v.check((s) => parse(s) !== undefined, what),
    v.transform((s) => parse(s)!),
  );
}

/**
 * The field schemas documents share, built on first use, as every document schema is: building valibot
 * schemas is start-up time (about 0.5 ms cold) that a command reading no document (`verify host`) never needs.
 */
export const fieldSchemas = once(() => ({
  hexString: v.pipe(
    v.string(),
    v.maxLength(130),
    v.regex(CANONICAL_HEX_RE, "a lower-case 0x hex string without padding"),
  ),
  hexU32: hexOfWidth(32, parseHex32),
  hexU64: hexOfWidth(64, parseHex64),
  registerName: v.picklist(["eax", "ebx", "ecx", "edx"]),
  vendorName: v.picklist(["intel", "amd"]),
}));

/**
 * Deterministic JSON: fixed key order comes from how objects are built; 2-space indent, final newline.
 * DEL, C1 controls, line separators and bidi controls (which JSON.stringify leaves raw) are written
 * as \\u escapes: the same JSON value, safe on a terminal. They can only occur inside strings.
 */
export function stableJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2).replace(
    TERMINAL_UNSAFE_IN_JSON,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  )}\n`;
}

const TERMINAL_UNSAFE_IN_JSON = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
