import { boolOpt, expectPositionals, parseCommandArgs } from "../args.ts";
import { EXIT_CODES_HELP, type Command } from "../command.ts";
import { emit } from "../io.ts";
import { loadHostOrProfileArg } from "../inputs.ts";
import { EXIT } from "../../errors.ts";
import { diffConfigs } from "../../fleet/diff.ts";
import { formatDiff } from "../../fleet/diff-format.ts";
import { printable, stableJson } from "../../model/document.ts";

const help = `Usage: cpuprof diff A B [--json]

Differences between two profiles or host captures, in any mix, in feature names:
features only in A, only in B, numeric fields that differ, fields one side leaves to
the host, feature-MSR differences (by bit name) and permitted-MSR differences.
A and B are embedded profile names or files (profile, cpuprof capture, Firecracker
fingerprint or dump).

Options:
  --json      machine-readable differences
  -h, --help  this help

Exit 0 when A and B are equal, 1 when they differ.

${EXIT_CODES_HELP}`;

export const diffCommand: Command = {
  name: "diff",
  help,
  async run(argv) {
    const p = parseCommandArgs("diff", argv, { json: { type: "boolean" } });
    const [a, b] = expectPositionals("diff", p, 2, 2, "two arguments A and B");
    const left = loadHostOrProfileArg(a!);
    const right = loadHostOrProfileArg(b!);
    const diff = diffConfigs(left.kind === "host" ? left.host : left.profile, right.kind === "host" ? right.host : right.profile);
    if (boolOpt(p, "json")) await emit(stableJson({ a, b, ...diff }), undefined);
    else await emit(formatDiff(diff, printable(a!, 120), printable(b!, 120)), undefined);
    return diff.equal ? EXIT.ok : EXIT.failed;
  },
};
