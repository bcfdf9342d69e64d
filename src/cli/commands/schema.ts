import { boolOpt, expectPositionals, stringOpt, optionsHelp, type OptionSpec } from "../args.ts";
import { EXIT_CODES_HELP } from "../command.ts";
import { defineCommand } from "../define-command.ts";
import { emitDocument } from "../io.ts";
import { InputError } from "../../errors.ts";
import { stableJson } from "../../model/document.ts";
import { SCHEMA_KINDS, jsonSchemaFor, type SchemaKind } from "../../model/json-schema.ts";

const options = {
  o: { type: "string", short: "o", arg: "FILE", help: `write to FILE (atomically)` },
  json: { type: "boolean", help: `print the schema on stdout (the default without -o; with -o, what was written)` },
} satisfies OptionSpec;

const help = () => `Usage: cpuprof schema profile|host [-o FILE] [--json]

Print the JSON Schema (draft-07) of the profile or host-capture format, generated
from the schemas cpuprof itself validates with, so other tools can check files.

Options:
${optionsHelp(options)}

${EXIT_CODES_HELP}`;

export const schemaCommand = defineCommand({
  name: "schema",
  help,
  options,
  async run(p) {
    const [kind] = expectPositionals("schema", p, 1, 1, "profile or host");
    if (!(SCHEMA_KINDS as readonly string[]).includes(kind!))
      throw new InputError("schema: expected 'profile' or 'host'");
    await emitDocument(stableJson(jsonSchemaFor(kind as SchemaKind)), stringOpt(p, "o"), boolOpt(p, "json"));
    return 0;
  },
});
