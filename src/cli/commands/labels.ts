import { boolOpt, stringOpt, optionsHelp, type OptionSpec } from "../args.ts";
import { EXIT_CODES_HELP } from "../command.ts";
import { defineCommand } from "../define-command.ts";
import { emitDocument, writeStderr } from "../io.ts";
import { loadHostArg, loadProfileArg } from "../inputs.ts";
import { embeddedProfile, embeddedProfileNames } from "../../embedded/profiles.ts";
import { formatFeatureFile, nodeLabels } from "../../fleet/labels.ts";
import { stableJson } from "../../model/document.ts";

const options = {
  host: {
    type: "string",
    arg: "FILE",
    help: `a host capture (cpuprof or Firecracker format) instead of this host's /dev/kvm`,
  },
  json: { type: "boolean", help: `the labels as a JSON object` },
  o: {
    type: "string",
    short: "o",
    arg: "FILE",
    help: `write to FILE atomically (NFD never reads a half-written file)`,
  },
} satisfies OptionSpec;

const help = () => `Usage: cpuprof labels [PROFILE...] [--host FILE] [--json] [-o FILE]

Node labels naming the profiles this host (or a capture) can run, in the format of
node-feature-discovery's local feature files (/etc/kubernetes/node-feature-discovery/features.d):
  cpuprof.io/vendor=intel|amd
  cpuprof.io/profile.NAME=true     for every profile that applies without problems
                                   (exactly the profiles 'cpuprof matrix' marks ok)
PROFILE: embedded names or profile files; default: every embedded profile.

Options:
${optionsHelp(options)}

Example (on every node, e.g. from deploy/kubernetes/cpuprof-labels.yaml):
  cpuprof labels -o /etc/kubernetes/node-feature-discovery/features.d/cpuprof

${EXIT_CODES_HELP}`;

export const labelsCommand = defineCommand({
  name: "labels",
  help,
  options,
  async run(p) {
    const profiles = p.positionals.length
      ? p.positionals.map((a) => loadProfileArg(a))
      : embeddedProfileNames().map((n) => embeddedProfile(n)!);
    const host = loadHostArg(stringOpt(p, "host"));
    const l = nodeLabels(host, profiles);
    for (const n of l.unlabellable)
      writeStderr(
        `labels: warning: profile '${n}' is compatible but its name is too long for a label (63 characters with 'profile.')`,
      );
    const json = boolOpt(p, "json");
    await emitDocument(
      json ? stableJson(Object.fromEntries(l.labels.map((x) => [x.name, x.value]))) : formatFeatureFile(l),
      stringOpt(p, "o"),
      json,
    );
    return 0;
  },
});
