import { choiceOpt, expectPositionals, parseCommandArgs, stringOpt } from "../args.ts";
import { EXIT_CODES_HELP, type Command } from "../command.ts";
import { emit } from "../io.ts";
import { inputName, readInputFile } from "../io.ts";
import { InputError } from "../../errors.ts";
import { importChv } from "../../formats/chv.ts";
import { importFirecrackerTemplate } from "../../formats/firecracker-template.ts";
import { PROFILE_NAME_RE, serializeProfile } from "../../model/profile.ts";

const help = `Usage: cpuprof import chv NAME.cpuid.json [NAME.msr.json] --name N [--vendor intel|amd] [-o FILE]
       cpuprof import firecracker TEMPLATE.json --name N --vendor intel|amd [-o FILE]

Read another VMM's CPU profile as a cpuprof profile (printed as JSON, or written to -o).
  chv          Cloud Hypervisor's CPUID file (upstream or early format) and, optionally,
               its MSR file; --vendor defaults to the early format's cpu_vendor
  firecracker  a Firecracker custom CPU template; registers the template does not mention
               keep the host's value in Firecracker, so they become explicit
               keep-the-host adjustments in the profile

Options:
  --name N             profile name (kebab-case)
  --vendor intel|amd   the profile's vendor
  -o FILE              write the profile to FILE (atomically)
  -h, --help           this help

${EXIT_CODES_HELP}`;

export const importCommand: Command = {
  name: "import",
  help,
  async run(argv) {
    const p = parseCommandArgs("import", argv, {
      name: { type: "string" },
      vendor: { type: "string" },
      o: { type: "string", short: "o" },
    });
    const [kind] = p.positionals;
    const name = stringOpt(p, "name");
    if (name === undefined) throw new InputError("import: --name N is required (see 'cpuprof import --help')");
    if (!PROFILE_NAME_RE.test(name)) throw new InputError("import: --name must be kebab-case ([a-z0-9-], at most 63 characters)");
    const vendor = choiceOpt("import", p, "vendor", ["intel", "amd"] as const);
    if (kind === "chv") {
      const [, cpuidFile, msrFile] = expectPositionals("import", p, 2, 3, "chv NAME.cpuid.json [NAME.msr.json]");
      const profile = importChv(readInputFile(cpuidFile!), msrFile === undefined ? undefined : readInputFile(msrFile), {
        vendor,
        name,
        cpuidFile: inputName(cpuidFile!),
        msrFile: msrFile === undefined ? undefined : inputName(msrFile),
      });
      await emit(serializeProfile(profile), stringOpt(p, "o"));
      return 0;
    }
    if (kind === "firecracker") {
      const [, file] = expectPositionals("import", p, 2, 2, "firecracker TEMPLATE.json");
      if (vendor === undefined) throw new InputError("import: firecracker templates need --vendor intel|amd");
      await emit(serializeProfile(importFirecrackerTemplate(readInputFile(file!), inputName(file!), { vendor, name })), stringOpt(p, "o"));
      return 0;
    }
    throw new InputError(`import: expected 'chv' or 'firecracker' (see 'cpuprof import --help')`);
  },
};
