import { boolOpt, expectPositionals, listOpt, optionsHelp, type OptionSpec } from "../args.ts";
import { InputError } from "../../errors.ts";
import { DIFF_PARTS, DRIFT_FIELDS, hostDrift, type DiffPart, type DriftField } from "../../fleet/host-drift.ts";
import { EXIT_CODES_HELP } from "../command.ts";
import { defineCommand } from "../define-command.ts";
import { emit } from "../io.ts";
import { loadHostOrProfileArg } from "../inputs.ts";
import { EXIT } from "../../errors.ts";
import { diffConfigs, type ConfigDiff } from "../../fleet/diff.ts";
import { DIFF_WIDTH, diffIsEmpty, formatDiff, withoutHostFields } from "../../fleet/diff-format.ts";
import { printable, stableJson } from "../../model/document.ts";

const options = {
  json: { type: "boolean", help: `machine-readable differences (the same ones the text shows)` },
  fields: {
    type: "string",
    multiple: true,
    arg: "LIST",
    help: `the parts to compare, comma-separated (default: all):\n${DIFF_PARTS.join(", ")}\ne.g. --fields kernel,microcode,bios,cpuid for a nightly\n"did this host change under its VMs" check`,
  },
  all: {
    type: "boolean",
    help: `also the fields the policy leaves to the host (topology, caches, XSAVE\nsizes, brand string), which differ between any two machines and by default are\nhidden, counted, and do not make A and B differ; every unnamed bit, every field\none side leaves to the host on a line of its own, and the bits of two vendors`,
  },
} satisfies OptionSpec;

const help = () => `Usage: cpuprof diff A B [--fields LIST] [--all] [--json]

Differences between two profiles or host captures, in any mix, in feature names:
features only in A, only in B, numeric fields that differ, fields one side leaves to
the host, feature-MSR differences (by bit name) and permitted-MSR differences.
A and B are embedded profile names or files (profile, cpuprof capture, Firecracker
fingerprint or dump). Between two host captures it also reports host drift, as
Firecracker's 'fingerprint compare' does: kernel, microcode and BIOS changes.

Options:
${optionsHelp(options)}

Exit 0 when A and B are equal, 1 when they differ.

${EXIT_CODES_HELP}`;

export const diffCommand = defineCommand({
  name: "diff",
  help,
  options,
  async run(p) {
    const [a, b] = expectPositionals("diff", p, 2, 2, "two arguments A and B");
    const asked = listOpt(p, "fields")
      .flatMap((x) => x.split(","))
      .map((x) => x.trim())
      .filter(Boolean);
    for (const f of asked)
      if (!(DIFF_PARTS as readonly string[]).includes(f))
        throw new InputError(`diff: --fields: unknown part '${printable(f, 40)}' (expected ${DIFF_PARTS.join(", ")})`);
    const parts = new Set<DiffPart>(asked.length ? (asked as DiffPart[]) : DIFF_PARTS);
    const left = loadHostOrProfileArg(a!);
    const right = loadHostOrProfileArg(b!);
    const configA = left.kind === "host" ? left.host : left.profile;
    const full = diffConfigs(configA, right.kind === "host" ? right.host : right.profile);
    const empty = { onlyInA: [], onlyInB: [], numeric: [], leftToHost: [] };
    const chosen: ConfigDiff = {
      vendor: parts.has("vendor") ? full.vendor : null,
      cpuid: parts.has("cpuid") ? full.cpuid : empty,
      msrs: parts.has("msrs") ? full.msrs : { ...empty, msrsOnlyInA: [], msrsOnlyInB: [] },
      permitted: parts.has("permitted") ? full.permitted : { onlyInA: [], onlyInB: [], unrestrictedIn: null },
      equal: true,
    };
    // Fields the policy leaves to the host differ between any two machines: shown only with --all.
    const all = boolOpt(p, "all");
    const { diff, hidden } = all
      ? { diff: { ...chosen, equal: diffIsEmpty(chosen) }, hidden: 0 }
      : withoutHostFields(chosen, configA.vendor);
    const driftFields = DRIFT_FIELDS.filter((f: DriftField) => parts.has(f));
    const drift = left.kind === "host" && right.kind === "host" ? hostDrift(left.host, right.host, driftFields) : [];
    const equal = diff.equal && drift.length === 0;
    if (boolOpt(p, "json"))
      await emit(stableJson({ a, b, ...diff, equal, hiddenLeftToHost: hidden, hostDrift: drift }), undefined);
    else {
      const text = formatDiff({ ...diff, equal }, printable(a!, 120), printable(b!, 120), DIFF_WIDTH, all);
      // Host drift goes right under formatDiff's header (one line, or two: A and B).
      const lines = text.trimEnd().split("\n");
      const headerLines = lines[0]!.startsWith("A: ") ? 2 : 1;
      const driftLines = drift.length
        ? ["Host:", ...drift.map((d) => `  ${d.field}: ${printable(d.a ?? "-", 200)} -> ${printable(d.b ?? "-", 200)}`)]
        : [];
      const hiddenLine = hidden
        ? [
            `(${hidden} field${hidden === 1 ? "" : "s"} the policy leaves to the host also differ: topology, caches, sizes; --all shows them)`,
          ]
        : [];
      await emit(
        `${[...lines.slice(0, headerLines), ...driftLines, ...lines.slice(headerLines), ...hiddenLine].join("\n")}\n`,
        undefined,
      );
    }
    return equal ? EXIT.ok : EXIT.failed;
  },
});
