import { boolOpt, expectPositionals, stringOpt, optionsHelp, type OptionSpec } from "../args.ts";
import { EXIT_CODES_HELP } from "../command.ts";
import { defineCommand } from "../define-command.ts";
import { emit, inputName, readInputFile } from "../io.ts";
import { loadHostArg, loadProfileArg } from "../inputs.ts";
import { hostLabel, problemLine } from "../report.ts";
import { foldText, KEEP } from "../table.ts";
import { printable } from "../../model/document.ts";
import { EXIT, InputError } from "../../errors.ts";
import { checkMigration } from "../../profile/migration.ts";
import { checkSavedMsrs } from "../../profile/saved-msrs-check.ts";
import { parseSavedMsrs } from "../../vmm/saved.ts";
import { stableJson } from "../../model/document.ts";

const options = {
  from: { type: "string", arg: "SRC", help: `source host capture (cpuprof or Firecracker format)` },
  to: { type: "string", arg: "DST", help: `destination host capture` },
  profile: { type: "string", arg: "P", help: `an embedded profile name or a profile file` },
  saved: {
    type: "string",
    arg: "FILE",
    help: `a vCPU's saved MSR values (JSON, as saveMsrs gives; see the README's\nlibrary section): can DST restore them under P? Every saved MSR must be\nknown to DST and in its msrsToSave under P, and every crucial value (the\nfeature MSRs; IA32_ARCH_CAPABILITIES by Cloud Hypervisor's rule) one DST\ncan offer. Without --to, DST is this host's /dev/kvm; --from adds the\nhost check above`,
  },
  json: { type: "boolean", help: `machine-readable result: "safe" true or false, as the text says safe or NOT SAFE` },
} satisfies OptionSpec;

const help = () => `Usage: cpuprof check-migration --from SRC --to DST [--profile P] [--json]
       cpuprof check-migration --saved FILE [--to DST] [--from SRC] [--profile P] [--json]

Can a guest started on SRC (under profile P) live-migrate to DST? With --profile, the
guest sees P on both hosts, so P must apply to SRC and to DST by the same rules as
'cpuprof apply' (features, max leaves and address sizes, fields that must be equal,
feature MSRs and IA32_ARCH_CAPABILITIES). Without --profile, the guest sees SRC's full
KVM-supported CPUID and feature MSRs, and that view must apply to DST. Each problem
names the host it fails on. MSRs the guest may access on SRC that DST's KVM does not
know are listed as notes.

Options:
${optionsHelp(options)}

Exit 0 when the migration is safe, 1 when it is not.

${EXIT_CODES_HELP}`;

export const checkMigrationCommand = defineCommand({
  name: "check-migration",
  help,
  options,
  async run(p) {
    expectPositionals("check-migration", p, 0, 0, "no positional arguments");
    const from = stringOpt(p, "from");
    const to = stringOpt(p, "to");
    const savedFile = stringOpt(p, "saved");
    if (savedFile !== undefined) return checkSaved(savedFile, from, to, stringOpt(p, "profile"), boolOpt(p, "json"));
    if (from === undefined || to === undefined)
      throw new InputError(
        "check-migration: --from SRC and --to DST are required (see 'cpuprof check-migration --help')",
      );
    const src = loadHostArg(from);
    const dst = loadHostArg(to);
    const profileArg = stringOpt(p, "profile");
    const profile = profileArg === undefined ? undefined : loadProfileArg(profileArg);
    const report = checkMigration(src, dst, profile);
    // "safe" in JSON as in the text: one word for one verdict.
    if (boolOpt(p, "json"))
      await emit(
        stableJson({
          from,
          to,
          profile: profile?.name ?? null,
          safe: report.compatible,
          problems: report.problems,
          notes: report.notes,
        }),
        undefined,
      );
    else {
      let out = `${hostLabel(src)} -> ${hostLabel(dst)}${profile ? ` under ${profile.name}` : " (no profile)"}: ${report.compatible ? "safe" : `NOT${KEEP}SAFE`}\n`;
      out += report.problems.map((x) => `  ${x.kind === "vendor" ? "" : `${x.side}: `}${problemLine(x)}\n`).join("");
      out += report.notes.map((n) => `  note: ${printable(n, 240)}\n`).join("");
      await emit(foldText(out), undefined);
    }
    return report.compatible ? EXIT.ok : EXIT.failed;
  },
});

/** --saved: the destination (a file, or this host) against a vCPU's saved MSRs, plus the host check when --from is given. */
async function checkSaved(
  savedFile: string,
  from: string | undefined,
  to: string | undefined,
  profileArg: string | undefined,
  json: boolean,
): Promise<number> {
  const saved = parseSavedMsrs(readInputFile(savedFile), inputName(savedFile));
  const profile = profileArg === undefined ? undefined : loadProfileArg(profileArg);
  const dst = loadHostArg(to);
  const src = from === undefined ? undefined : loadHostArg(from);
  const savedReport = checkSavedMsrs(saved.msrs, dst, profile);
  const hosts = src ? checkMigration(src, dst, profile) : { problems: [], notes: [] };
  const problems = [...hosts.problems, ...savedReport.problems];
  const compatible = problems.length === 0;
  if (json)
    await emit(
      stableJson({
        saved: savedFile,
        from: from ?? null,
        to: to ?? null,
        profile: profile?.name ?? null,
        savedMsrs: saved.msrs.length,
        safe: compatible,
        problems,
        notes: hosts.notes,
      }),
      undefined,
    );
  else {
    const what = `${saved.msrs.length} saved MSRs${src ? ` from ${hostLabel(src)}` : ""} -> ${hostLabel(dst)}${profile ? ` under ${profile.name}` : " (host profile)"}`;
    const notes = hosts.notes.map((n) => `  note: ${printable(n, 240)}\n`).join("");
    await emit(
      foldText(
        `${what}: ${compatible ? "safe" : `NOT${KEEP}SAFE`}\n${problems.map((x) => `  ${problemLine(x)}\n`).join("")}${notes}`,
      ),
      undefined,
    );
  }
  return compatible ? EXIT.ok : EXIT.failed;
}
