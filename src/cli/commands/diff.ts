import { boolOpt, expectPositionals, listOpt, parseCommandArgs } from "../args.ts";
import { InputError } from "../../errors.ts";
import { DIFF_PARTS, DRIFT_FIELDS, hostDrift, type DiffPart, type DriftField } from "../../fleet/host-drift.ts";
import { EXIT_CODES_HELP, type Command } from "../command.ts";
import { emit } from "../io.ts";
import { loadHostOrProfileArg } from "../inputs.ts";
import { EXIT } from "../../errors.ts";
import { diffConfigs } from "../../fleet/diff.ts";
import { formatDiff } from "../../fleet/diff-format.ts";
import { printable, stableJson } from "../../model/document.ts";

const help = `Usage: cpuprof diff A B [--fields LIST] [--json]

Differences between two profiles or host captures, in any mix, in feature names:
features only in A, only in B, numeric fields that differ, fields one side leaves to
the host, feature-MSR differences (by bit name) and permitted-MSR differences.
A and B are embedded profile names or files (profile, cpuprof capture, Firecracker
fingerprint or dump). Between two host captures it also reports host drift, as
Firecracker's 'fingerprint compare' does: kernel, microcode and BIOS changes.

Options:
  --fields LIST  the parts to compare, comma-separated (default: all):
                 ${DIFF_PARTS.join(", ")}
                 e.g. --fields kernel,microcode,bios,cpuid for a nightly
                 "did this host change under its VMs" check
  --json         machine-readable differences
  -h, --help     this help

Exit 0 when A and B are equal, 1 when they differ.

${EXIT_CODES_HELP}`;

export const diffCommand: Command = {
  name: "diff",
  help,
  async run(argv) {
    const p = parseCommandArgs("diff", argv, { json: { type: "boolean" }, fields: { type: "string", multiple: true } });
    const [a, b] = expectPositionals("diff", p, 2, 2, "two arguments A and B");
    const asked = listOpt(p, "fields").flatMap((x) => x.split(",")).map((x) => x.trim()).filter(Boolean);
    for (const f of asked)
      if (!(DIFF_PARTS as readonly string[]).includes(f))
        throw new InputError(`diff: --fields: unknown part '${printable(f, 40)}' (expected ${DIFF_PARTS.join(", ")})`);
    const parts = new Set<DiffPart>(asked.length ? (asked as DiffPart[]) : DIFF_PARTS);
    const left = loadHostOrProfileArg(a!);
    const right = loadHostOrProfileArg(b!);
    const full = diffConfigs(left.kind === "host" ? left.host : left.profile, right.kind === "host" ? right.host : right.profile);
    const empty = { onlyInA: [], onlyInB: [], numeric: [], leftToHost: [] };
    const diff = {
      vendor: parts.has("vendor") ? full.vendor : null,
      cpuid: parts.has("cpuid") ? full.cpuid : empty,
      msrs: parts.has("msrs") ? full.msrs : { ...empty, msrsOnlyInA: [], msrsOnlyInB: [] },
      permitted: parts.has("permitted") ? full.permitted : { onlyInA: [], onlyInB: [], unrestrictedIn: null },
      equal: true,
    };
    const cpuEqual =
      diff.vendor === null &&
      [diff.cpuid, diff.msrs].every((d) => d.onlyInA.length + d.onlyInB.length + d.numeric.length + d.leftToHost.length === 0) &&
      diff.msrs.msrsOnlyInA.length + diff.msrs.msrsOnlyInB.length === 0 &&
      diff.permitted.onlyInA.length + diff.permitted.onlyInB.length === 0 &&
      diff.permitted.unrestrictedIn === null;
    const driftFields = DRIFT_FIELDS.filter((f: DriftField) => parts.has(f));
    const drift = left.kind === "host" && right.kind === "host" ? hostDrift(left.host, right.host, driftFields) : [];
    diff.equal = (parts.size === DIFF_PARTS.length ? full.equal : cpuEqual) && drift.length === 0;
    if (boolOpt(p, "json")) await emit(stableJson({ a, b, ...diff, hostDrift: drift }), undefined);
    else {
      // Host drift goes right under formatDiff's header line.
      const [header, ...rest] = formatDiff(diff as typeof full, printable(a!, 120), printable(b!, 120)).split("\n");
      const driftLines = drift.length ? ["Host:", ...drift.map((d) => `  ${d.field}: ${printable(d.a ?? "-", 200)} -> ${printable(d.b ?? "-", 200)}`)] : [];
      await emit([header, ...driftLines, ...rest].join("\n"), undefined);
    }
    return diff.equal ? EXIT.ok : EXIT.failed;
  },
};
