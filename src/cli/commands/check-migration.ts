import { boolOpt, expectPositionals, parseCommandArgs, stringOpt } from "../args.ts";
import { EXIT_CODES_HELP, type Command } from "../command.ts";
import { emit } from "../io.ts";
import { loadHostArg, loadProfileArg } from "../inputs.ts";
import { hostLabel, problemLine } from "../report.ts";
import { EXIT, InputError } from "../../errors.ts";
import { checkMigration } from "../../profile/migration.ts";
import { stableJson } from "../../model/document.ts";

const help = `Usage: cpuprof check-migration --from SRC --to DST [--profile P] [--json]

Can a guest started on SRC (under profile P) live-migrate to DST? Applies P to both
hosts and compares every field the policy classifies: feature bits (the destination
must offer every one the guest sees), numeric fields (max leaves, address sizes:
less or equal), fields that must be equal (vendor, XSAVE layout, KVM signature), and
the feature MSRs and permitted MSRs. Without --profile, the guest sees each host's
full KVM-supported CPUID.

Options:
  --from SRC    source host capture (cpuprof or Firecracker format)
  --to DST      destination host capture
  --profile P   an embedded profile name or a profile file
  --json        machine-readable result
  -h, --help    this help

Exit 0 when the migration is safe, 1 when it is not.

${EXIT_CODES_HELP}`;

export const checkMigrationCommand: Command = {
  name: "check-migration",
  help,
  async run(argv) {
    const p = parseCommandArgs("check-migration", argv, {
      from: { type: "string" },
      to: { type: "string" },
      profile: { type: "string" },
      json: { type: "boolean" },
    });
    expectPositionals("check-migration", p, 0, 0, "no positional arguments");
    const from = stringOpt(p, "from");
    const to = stringOpt(p, "to");
    if (from === undefined || to === undefined)
      throw new InputError("check-migration: --from SRC and --to DST are required (see 'cpuprof check-migration --help')");
    const src = loadHostArg(from);
    const dst = loadHostArg(to);
    const profileArg = stringOpt(p, "profile");
    const profile = profileArg === undefined ? undefined : loadProfileArg(profileArg);
    const report = checkMigration(src, dst, profile);
    if (boolOpt(p, "json")) await emit(stableJson({ from, to, profile: profile?.name ?? null, ...report }), undefined);
    else {
      let out = `${hostLabel(src)} -> ${hostLabel(dst)}${profile ? ` under ${profile.name}` : " (no profile)"}: ${report.compatible ? "safe" : "NOT SAFE"}\n`;
      out += report.problems.map((x) => `  ${problemLine(x)}\n`).join("");
      await emit(out, undefined);
    }
    return report.compatible ? EXIT.ok : EXIT.failed;
  },
};
