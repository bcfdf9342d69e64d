import { boolOpt, expectPositionals, optionsHelp, type OptionSpec } from "../args.ts";
import { EXIT_CODES_HELP } from "../command.ts";
import { defineCommand } from "../define-command.ts";
import { emit } from "../io.ts";
import { loadProfileArg } from "../inputs.ts";
import { foldText, table, wrapList } from "../table.ts";
import { serializeProfile } from "../../model/profile.ts";
import { describeProfile } from "../../profile/describe.ts";
import { printable } from "../../model/document.ts";

const options = {
  json: { type: "boolean", help: `the full profile JSON` },
} satisfies OptionSpec;

const help = () => `Usage: cpuprof show PROFILE [--json]

Show a profile in feature names: the features it fixes, the fields it leaves to
the host the VM runs on, its feature-MSR values and the MSRs a guest may access.
PROFILE is an embedded name (cpuprof list) or a profile file.

Options:
${optionsHelp(options)}

${EXIT_CODES_HELP}`;

/** Source hosts by model, each once with how many captures (kernels, microcode) it stands for. */
function madeFrom(hosts: readonly { model: string; count?: number }[]): string {
  const byModel = new Map<string, number>();
  for (const h of hosts) byModel.set(h.model, (byModel.get(h.model) ?? 0) + (h.count ?? 1));
  return [...byModel].map(([model, n]) => printable(model, 80) + (n > 1 ? ` x${n}` : "")).join("; ");
}

export const showCommand = defineCommand({
  name: "show",
  help,
  options,
  async run(p) {
    const [arg] = expectPositionals("show", p, 1, 1, "one PROFILE");
    const profile = loadProfileArg(arg!);
    if (boolOpt(p, "json")) {
      await emit(serializeProfile(profile), undefined);
      return 0;
    }
    const d = describeProfile(profile);
    let out = table([
      ["name", profile.name],
      ["version", String(profile.version)],
      ["vendor", profile.kind === "host" ? "any (host profile)" : profile.vendor],
      ["description", printable(profile.description, 200)],
      ["made from", madeFrom(profile.sourceHosts) || "-"],
      ["tool version", printable(profile.toolVersion, 64)],
    ]);
    if (profile.kind === "host") {
      out += "\nHost profile: no adjustments; the guest sees what the host's KVM supports.\n";
      await emit(out, undefined);
      return 0;
    }
    out += `\nfeatures (${d.features.length}):\n${wrapList(d.features)}`;
    out += `left to the host (${d.host.length}):\n${wrapList(d.host)}`;
    if (d.fixed.length) out += `fixed fields:\n${wrapList(d.fixed.map((f) => `${f.name}=${f.to}`))}`;
    if (d.msrs.length)
      out += `feature MSRs:\n${d.msrs.map((m) => `  ${m.name}: ${m.value} (mask ${m.mask})\n`).join("")}`;
    out += `permitted MSRs (${d.permittedMsrs.length}):\n${wrapList(d.permittedMsrs)}`;
    await emit(foldText(out), undefined);
    return 0;
  },
});
