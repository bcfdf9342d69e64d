import { boolOpt, stringOpt, optionsHelp, type OptionSpec } from "../args.ts";
import { EXIT_CODES_HELP } from "../command.ts";
import { defineCommand } from "../define-command.ts";
import { readCaptures } from "../captures.ts";
import { emit, writeStderr } from "../io.ts";
import { wrapList } from "../table.ts";
import { InputError } from "../../errors.ts";
import { baselineProfile } from "../../fleet/baseline-profile.ts";
import { printable } from "../../model/document.ts";
import { checkProfileName, serializeProfile } from "../../model/profile.ts";
import { describeProfile } from "../../profile/describe.ts";

const options = {
  name: { type: "string", arg: "NAME", help: `profile name, kebab-case` },
  description: { type: "string", arg: "TEXT", help: `one line saying what the profile is for` },
  strict: { type: "boolean", help: `fail when a host has leaves, bits or feature MSRs the policy does not know` },
  o: { type: "string", short: "o", arg: "FILE", help: `write the profile to FILE (atomically) and print a summary` },
  json: { type: "boolean", help: `print the profile JSON on stdout (the default without -o)` },
} satisfies OptionSpec;

const help = () => `Usage: cpuprof baseline CAPTURES... --name NAME [--description TEXT] [--strict] [-o FILE] [--json]

The most capable profile that every given host can run: feature bits intersected,
numeric fields (max leaves, address sizes) at the minimum, fields that must be equal
checked (a clear error names the hosts that disagree), IA32_ARCH_CAPABILITIES
good-news bits intersected and bad-news bits (RSBA, RRSBA) united. Hosts of different
vendors are refused. The order of the captures does not change a byte of the output.

CAPTURES are files, directories (their *.json and *.ndjson files), globs ('hosts/*.json',
quoted), or - for stdin: one capture per line (NDJSON), or whole 'cpuprof host --json'
outputs one after another. Identical captures are counted once; a progress line shows
on a terminal.

Options:
${optionsHelp(options)}

Example:
  cpuprof baseline hosts/*.json --name fleet -o fleet.json

${EXIT_CODES_HELP}`;

export const baselineCommand = defineCommand({
  name: "baseline",
  help,
  options,
  async run(p) {
    const name = stringOpt(p, "name");
    if (name === undefined) throw new InputError("baseline: --name NAME is required (see 'cpuprof baseline --help')");
    checkProfileName(name, "baseline: --name");
    if (p.positionals.length === 0)
      throw new InputError(
        "baseline: expected captures: files, directories, globs or - for stdin (see 'cpuprof baseline --help')",
      );
    // A baseline of a capture and its duplicates is the baseline of the capture: each distinct one counts once.
    const set = readCaptures(p.positionals, "baseline");
    const hosts = set.unique.map((u) => u.host);
    const result = baselineProfile(hosts, {
      name,
      description: stringOpt(p, "description"),
      strict: boolOpt(p, "strict"),
      labels: set.unique.map((u) => printable(u.label, 120)), // they end up in error messages
    });
    const out = stringOpt(p, "o");
    const text = serializeProfile(result.profile);
    if (out !== undefined) {
      await emit(text, out);
      if (boolOpt(p, "json")) await emit(text, undefined);
      else {
        const d = describeProfile(result.profile);
        const distinct = set.total === hosts.length ? "" : `, ${hosts.length} distinct`;
        await emit(
          `baseline ${name} of ${set.total} hosts${distinct} (${result.profile.vendor}): ${d.features.length} features\n${wrapList(d.features)}`,
          undefined,
        );
      }
    } else await emit(text, undefined);
    for (const u of result.unknown) writeStderr(`warning: hidden, unknown to the policy: ${u.text}`);
    return 0;
  },
});
