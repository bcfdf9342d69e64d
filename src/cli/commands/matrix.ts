import { boolOpt, listOpt, optionsHelp, type OptionSpec } from "../args.ts";
import { EXIT_CODES_HELP } from "../command.ts";
import { defineCommand } from "../define-command.ts";
import { captureLabels, readCaptures } from "../captures.ts";
import { emit } from "../io.ts";
import { loadProfileArg } from "../inputs.ts";
import { EXIT, InputError } from "../../errors.ts";
import { embeddedProfile, embeddedProfileNames } from "../../embedded/profiles.ts";
import { compatibilityMatrix } from "../../fleet/matrix.ts";
import { formatMatrix } from "../matrix-format.ts";
import { stableJson } from "../../model/document.ts";

const options = {
  profiles: {
    type: "string",
    multiple: true,
    arg: "P",
    help: `profiles to check (embedded names or files; repeat the option or\nseparate with commas); default: every embedded profile`,
  },
  json: { type: "boolean", help: `machine-readable matrix` },
} satisfies OptionSpec;

const help = () => `Usage: cpuprof matrix CAPTURES... [--profiles NAME|FILE ...] [--json]

A table of hosts x profiles: compatible, or the features each host is missing; then
the migration groups: for each profile, the hosts a VM under it can move between.
The host profile is not migratable and has no group; a group never mixes vendors.
Lines fit 100 columns: when the table would not, each profile gets a block instead.

CAPTURES are files, directories (their *.json and *.ndjson files), globs ('hosts/*.json',
quoted), or - for stdin: one capture per line (NDJSON), or whole 'cpuprof host --json'
outputs one after another. Identical captures are counted once ("xN" in the table,
"count" in --json); a progress line shows on a terminal.

Options:
${optionsHelp(options)}

Exit 0 when every host runs every listed profile, 1 when some host cannot run some
profile (the default list has both vendors' profiles: use --profiles for one fleet).

${EXIT_CODES_HELP}`;

export const matrixCommand = defineCommand({
  name: "matrix",
  help,
  options,
  async run(p) {
    if (p.positionals.length === 0)
      throw new InputError(
        "matrix: expected captures: files, directories, globs or - for stdin (see 'cpuprof matrix --help')",
      );
    const set = readCaptures(p.positionals, "matrix");
    const labels = captureLabels(set);
    const hosts = set.unique.map((u, i) => ({ label: labels[i]!, host: u.host, count: u.count }));
    const names = listOpt(p, "profiles")
      .flatMap((x) => x.split(","))
      .map((x) => x.trim())
      .filter(Boolean);
    const profiles = (
      names.length ? names.map((n) => loadProfileArg(n)) : embeddedProfileNames().map((n) => embeddedProfile(n)!)
    ).map((profile) => ({ name: profile.name, profile }));
    const m = compatibilityMatrix(hosts, profiles);
    await emit(boolOpt(p, "json") ? stableJson(m) : formatMatrix(m), undefined);
    return m.everyHostRunsEveryProfile ? EXIT.ok : EXIT.failed;
  },
});
