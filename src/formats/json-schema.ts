// A validator for the subset of JSON Schema that Firecracker's template schema uses:
// type (object, array, string, integer, number, boolean, null), properties, items, enum, required,
// additionalProperties (boolean), and annotation keywords that constrain nothing.
// Any other keyword is refused, so a schema that grows a keyword we do not check fails loudly instead of passing.

type Schema = Record<string, unknown>;

const ANNOTATIONS = new Set(["$schema", "$id", "title", "description", "examples", "default", "$comment"]);
const CHECKED = new Set(["type", "properties", "items", "enum", "required", "additionalProperties"]);

function typeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

function typeMatches(expected: string, value: unknown): boolean {
  const actual = typeOf(value);
  return actual === expected || (expected === "number" && actual === "integer");
}

/** Problems found, each "path: what"; empty when `value` is valid. */
export function validateJsonSchema(schema: unknown, value: unknown, path = "$"): string[] {
  if (typeof schema !== "object" || schema === null || Array.isArray(schema))
    return [`${path}: schema is not an object`];
  const s = schema as Schema;
  for (const k of Object.keys(s))
    if (!ANNOTATIONS.has(k) && !CHECKED.has(k)) throw new Error(`json-schema: unsupported keyword "${k}" at ${path}`);
  const errors: string[] = [];
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
    if (!types.some((t) => typeMatches(t, value)))
      return [`${path}: expected ${types.join(" or ")}, got ${typeOf(value)}`];
  }
  if (Array.isArray(s.enum) && !s.enum.some((e) => JSON.stringify(e) === JSON.stringify(value)))
    errors.push(`${path}: expected one of ${JSON.stringify(s.enum)}, got ${JSON.stringify(value)}`);
  if (typeOf(value) === "object") {
    const obj = value as Record<string, unknown>;
    const props = (s.properties ?? {}) as Record<string, unknown>;
    for (const r of (s.required ?? []) as string[])
      if (!(r in obj)) errors.push(`${path}: missing required property ${r}`);
    for (const [k, v] of Object.entries(obj)) {
      if (k in props) errors.push(...validateJsonSchema(props[k], v, `${path}.${k}`));
      else if (s.additionalProperties === false) errors.push(`${path}: unexpected property ${k}`);
    }
  }
  if (typeOf(value) === "array" && s.items !== undefined)
    (value as unknown[]).forEach((item, i) => errors.push(...validateJsonSchema(s.items, item, `${path}[${i}]`)));
  return errors;
}
