// JSON Schema (draft-07) of cpuprof's file formats, generated from the valibot schemas
// that parse them, so other tools validate exactly what cpuprof accepts (bar the
// checks JSON Schema cannot express: 32/64-bit ranges, overlapping adjustments).
import { toJsonSchema } from "@valibot/to-json-schema";
import { hostCaptureSchema } from "./host.ts";
import { profileSchema } from "./profile.ts";

export const SCHEMA_KINDS = ["profile", "host"] as const;
export type SchemaKind = (typeof SCHEMA_KINDS)[number];

const SOURCES = {
  profile: { schema: profileSchema, title: "cpuprof CPU profile" },
  host: { schema: hostCaptureSchema, title: "cpuprof host capture" },
} as const;

export function jsonSchemaFor(kind: SchemaKind): object {
  const { schema, title } = SOURCES[kind];
  // (each entry's schema is built on first use)
  // errorMode "ignore": transforms and custom checks have no JSON Schema form; they are listed in the description.
  const body = toJsonSchema(schema(), { errorMode: "ignore" }) as Record<string, unknown>;
  const { $schema, ...rest } = body;
  return {
    $schema: $schema ?? "http://json-schema.org/draft-07/schema#",
    $id: `https://cpuprof.dev/schema/${kind}-v1.json`,
    title,
    description:
      "Values are lower-case 0x hex strings without padding. cpuprof additionally checks what JSON Schema cannot express: 32-bit (CPUID) and 64-bit (MSR) ranges, start <= end of subleaf ranges, no overlapping adjustments, no duplicate leaves or MSRs.",
    ...rest,
  };
}
