import { basename } from "node:path";
import { boolOpt, listOpt, parseCommandArgs } from "../args.ts";
import { EXIT_CODES_HELP, type Command } from "../command.ts";
import { emit, inputName, readInputFile } from "../io.ts";
import { loadProfileArg } from "../inputs.ts";
import { InputError } from "../../errors.ts";
import { embeddedProfile, embeddedProfileNames } from "../../embedded/profiles.ts";
import { compatibilityMatrix, formatMatrix } from "../../fleet/matrix.ts";
import { loadHostFile } from "../../formats/host-file.ts";
import { printable, stableJson } from "../../model/document.ts";

const help = `Usage: cpuprof matrix CAPTURE... [--profiles NAME|FILE ...] [--json]

A table of hosts x profiles: compatible, or the features each host is missing; then
the migration groups: for each profile, the hosts a VM under it can move between.

Options:
  --profiles P   profiles to check (embedded names or files; repeat the option or
                 separate with commas); default: every embedded profile
  --json         machine-readable matrix
  -h, --help     this help

${EXIT_CODES_HELP}`;

export const matrixCommand: Command = {
  name: "matrix",
  help,
  async run(argv) {
    const p = parseCommandArgs("matrix", argv, { profiles: { type: "string", multiple: true }, json: { type: "boolean" } });
    if (p.positionals.length === 0) throw new InputError("matrix: expected one or more CAPTURE files (see 'cpuprof matrix --help')");
    // Label hosts by file name when those are unique, else by the path as given; terminal-safe either way.
    const bases = p.positionals.map((f) => basename(f).replace(/\.json$/, ""));
    const labels = (new Set(bases).size === bases.length ? bases : p.positionals).map((l) => printable(l, 120));
    const hosts = p.positionals.map((file, i) => ({ label: labels[i]!, host: loadHostFile(readInputFile(file), inputName(file)) }));
    const names = listOpt(p, "profiles").flatMap((x) => x.split(",")).map((x) => x.trim()).filter(Boolean);
    const profiles = (names.length ? names.map((n) => loadProfileArg(n)) : embeddedProfileNames().map((n) => embeddedProfile(n)!)).map(
      (profile) => ({ name: profile.name, profile }),
    );
    const m = compatibilityMatrix(hosts, profiles);
    await emit(boolOpt(p, "json") ? stableJson(m) : formatMatrix(m), undefined);
    return 0;
  },
};
