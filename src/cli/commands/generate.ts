import { boolOpt, expectPositionals, stringOpt, optionsHelp, type OptionSpec } from "../args.ts";
import { EXIT_CODES_HELP } from "../command.ts";
import { defineCommand } from "../define-command.ts";
import { emit, stderrIsTty, writeStderr } from "../io.ts";
import { loadHostArg } from "../inputs.ts";
import { wrapList } from "../table.ts";
import { formatHidden } from "../report.ts";
import { InputError } from "../../errors.ts";
import { printable } from "../../model/document.ts";
import { checkProfileName, serializeProfile } from "../../model/profile.ts";
import { generateProfile } from "../../profile/generate.ts";

const options = {
  name: { type: "string", arg: "NAME", help: `profile name, kebab-case (e.g. my-fleet, skylake-v2)` },
  host: {
    type: "string",
    arg: "FILE",
    help: `a host capture (cpuprof or Firecracker format); default: this host's /dev/kvm`,
  },
  description: { type: "string", arg: "TEXT", help: `one line saying what the profile is for` },
  strict: {
    type: "boolean",
    help: `fail (exit 2) when the host has leaves, bits or feature MSRs the policy does not know`,
  },
  o: { type: "string", short: "o", arg: "FILE", help: `write the profile to FILE (atomically) and print the summary` },
  json: { type: "boolean", help: `print the profile JSON on stdout (the default without -o)` },
} satisfies OptionSpec;

const help = () => `Usage: cpuprof generate --name NAME [--host FILE] [--description TEXT] [--strict] [-o FILE] [--json]

Make a profile from a host: every CPUID field and feature MSR follows the vendor's
policy table (inherit: fixed from this host; passthrough: left to the host the VM
runs on; static: always hidden or forced). Whatever the table does not know is
hidden and named. The same capture always gives a byte-identical profile.

Options:
${optionsHelp(options)}

Examples:
  cpuprof generate --name rack7 -o rack7.json
  cpuprof generate --host skylake-host.json --name skylake-lab --strict > p.json

${EXIT_CODES_HELP}`;

export const generateCommand = defineCommand({
  name: "generate",
  help,
  options,
  async run(p) {
    expectPositionals("generate", p, 0, 0, "no positional arguments");
    const name = stringOpt(p, "name");
    if (name === undefined) throw new InputError("generate: --name NAME is required (see 'cpuprof generate --help')");
    checkProfileName(name, "generate: --name");
    const host = loadHostArg(stringOpt(p, "host"));
    const result = generateProfile(host, {
      name,
      description: stringOpt(p, "description"),
      strict: boolOpt(p, "strict"),
    });
    const out = stringOpt(p, "o");
    const summary =
      `profile ${name} (${result.profile.vendor}) from ${host.brand !== null ? printable(host.brand, 80) : `${host.vendor} family ${host.family} model ${host.model}`}\n` +
      `kept (${result.summary.kept.length}):\n${wrapList(result.summary.kept)}` +
      `hidden (${result.summary.hidden.length}):\n${formatHidden(result.summary.hidden)}` +
      `left to the host the VM runs on (${result.summary.leftToHost.length}):\n${wrapList(result.summary.leftToHost)}` +
      (result.unknown.length
        ? `unknown to the policy, hidden (${result.unknown.length}):\n${wrapList(result.unknown.map((u) => u.text))}`
        : "");
    if (out !== undefined) {
      await emit(serializeProfile(result.profile), out);
      if (!boolOpt(p, "json")) await emit(summary, undefined);
      else await emit(serializeProfile(result.profile), undefined);
    } else {
      await emit(serializeProfile(result.profile), undefined);
      if (stderrIsTty()) writeStderr(summary.trimEnd());
    }
    if (!stderrIsTty() || out !== undefined)
      for (const u of result.unknown) writeStderr(`warning: hidden, unknown to the policy: ${u.text}`);
    return 0;
  },
});
