import { boolOpt, expectPositionals, optionsHelp, type OptionSpec } from "../args.ts";
import { EXIT_CODES_HELP } from "../command.ts";
import { defineCommand } from "../define-command.ts";
import { emit } from "../io.ts";
import { table } from "../table.ts";
import { embeddedProfile, embeddedProfileInfo } from "../../embedded/profiles.ts";
import { printable, stableJson } from "../../model/document.ts";

const options = {
  json: { type: "boolean", help: `machine-readable list` },
} satisfies OptionSpec;

const help = () => `Usage: cpuprof list [--json]

List the profiles embedded in this executable: name, vendor, version, the
compressed size of its JSON, and its description.

Options:
${optionsHelp(options)}

${EXIT_CODES_HELP}`;

export const listCommand = defineCommand({
  name: "list",
  help,
  options,
  async run(p) {
    expectPositionals("list", p, 0, 0, "no positional arguments");
    const rows = embeddedProfileInfo().map((info) => {
      const prof = embeddedProfile(info.name)!;
      return {
        name: info.name,
        vendor: prof.kind === "host" ? "any" : prof.vendor,
        version: prof.version,
        kind: prof.kind,
        compressedBytes: info.compressedBytes,
        description: prof.description,
      };
    });
    if (boolOpt(p, "json")) await emit(stableJson(rows), undefined);
    else
      await emit(
        table(
          rows.map((r) => [
            r.name,
            r.vendor,
            String(r.version),
            `${r.compressedBytes} B`,
            printable(r.description, 90),
          ]),
          ["NAME", "VENDOR", "VERSION", "SIZE", "DESCRIPTION"],
          { overflow: "cut" },
        ),
        undefined,
      );
    return 0;
  },
});
