import {
  boolOpt,
  choiceOpt,
  expectPositionals,
  stringOpt,
  type Parsed,
  optionsHelp,
  type OptionSpec,
} from "../args.ts";
import { EXIT_CODES_HELP } from "../command.ts";
import { defineCommand } from "../define-command.ts";
import { emitDocument } from "../io.ts";
import { inputName, readInputFile } from "../io.ts";
import { EnvironmentError, InputError } from "../../errors.ts";
import { importChv } from "../../formats/chv.ts";
import { importFirecrackerTemplate } from "../../formats/firecracker-template.ts";
import { checkProfileName, serializeProfile } from "../../model/profile.ts";
import { printable } from "../../model/document.ts";
import { expandQemuCpu } from "../../qemu/expand.ts";
import { profileFromQemuExpansion } from "../../qemu/import.ts";
import { QEMU_MODEL_TABLES } from "../../qemu/models.ts";
import { chooseQemuTable } from "../../qemu/cpu-string.ts";
import { QEMU_BINARY } from "../../qemu/qmp.ts";
import { LIBVIRT_CPU_MAP } from "../../libvirt/cpu-map.ts";
import { profileFromLibvirtXml } from "../../libvirt/import.ts";
import { profileNameFrom } from "../../formats/feature-profile.ts";

async function importEngine(kind: "qemu" | "libvirt", p: Parsed): Promise<number> {
  const [, arg] = expectPositionals("import", p, 2, 2, kind === "qemu" ? "qemu MODEL" : "libvirt FILE");
  if (stringOpt(p, "vendor") !== undefined)
    throw new InputError(`import: --vendor does not apply to ${kind} (the model names its vendor)`);
  const given = stringOpt(p, "name");
  if (given !== undefined) checkProfileName(given, "import: --name");
  if (kind === "qemu") {
    const binary = stringOpt(p, "qemu") ?? QEMU_BINARY;
    if (!Bun.which(binary))
      throw new EnvironmentError(
        `import qemu: '${printable(binary, 120)}' not found (install qemu-system-x86 or pass --qemu BIN)`,
      );
    const e = await expandQemuCpu(binary, arg!);
    const table = chooseQemuTable(e.qemuVersion) ?? QEMU_MODEL_TABLES[QEMU_MODEL_TABLES.length - 1]!;
    const profile = profileFromQemuExpansion(e.props, {
      cpu: arg!,
      explicit: e.explicit,
      qemuVersion: e.qemuVersion,
      kvmDefaults: table.kvmDefaults,
      name: given ?? profileNameFrom(arg!.split(",")[0]!),
    });
    await emitDocument(serializeProfile(profile), stringOpt(p, "o"), boolOpt(p, "json"));
    return 0;
  }
  const profile = profileFromLibvirtXml(readInputFile(arg!), inputName(arg!), LIBVIRT_CPU_MAP, given);
  await emitDocument(serializeProfile(profile), stringOpt(p, "o"), boolOpt(p, "json"));
  return 0;
}

const options = {
  name: { type: "string", arg: "N", help: `profile name (kebab-case; qemu/libvirt: default from the model)` },
  vendor: { type: "string", arg: "intel|amd", help: `the profile's vendor` },
  o: { type: "string", short: "o", arg: "FILE", help: `write the profile to FILE (atomically)` },
  qemu: { type: "string", arg: "BIN", help: `(qemu) the QEMU to ask (default: qemu-system-x86_64 on PATH)` },
  json: {
    type: "boolean",
    help: `print the profile JSON on stdout (the default without -o; with -o, what\nwas written to FILE)`,
  },
} satisfies OptionSpec;

const help =
  () => `Usage: cpuprof import chv NAME.cpuid.json [NAME.msr.json] --name N [--vendor intel|amd] [-o FILE] [--json]
       cpuprof import firecracker TEMPLATE.json --name N --vendor intel|amd [-o FILE] [--json]
       cpuprof import qemu MODEL[,+feat,-feat...] [--qemu BIN] [--name N] [-o FILE] [--json]
       cpuprof import libvirt FILE [--name N] [-o FILE] [--json]

Read another VMM's CPU profile as a cpuprof profile (printed as JSON, or written to -o).
  chv          Cloud Hypervisor's CPUID file (upstream or early format) and, optionally,
               its MSR file; --vendor defaults to the early format's cpu_vendor
  firecracker  a Firecracker custom CPU template; registers the template does not mention
               keep the host's value in Firecracker, so they become explicit
               keep-the-host adjustments in the profile
  qemu         asks the installed QEMU (QMP query-cpu-model-expansion, -machine none) what the
               model (or -cpu value) means under -accel kvm; every feature QEMU has a property
               for and family/model/stepping are fixed, fields QEMU does not define are left
               to the host
  libvirt      a <cpu> element (mode='custom', model plus features) or 'virsh domcapabilities'
               output (its host-model), read against libvirt's CPU map the same way

Options:
${optionsHelp(options)}

${EXIT_CODES_HELP}`;

export const importCommand = defineCommand({
  name: "import",
  help,
  options,
  async run(p) {
    const [kind] = p.positionals;
    if (kind !== "qemu" && stringOpt(p, "qemu") !== undefined)
      throw new InputError("import: --qemu applies to 'import qemu' only");
    if (kind === "qemu" || kind === "libvirt") return importEngine(kind, p);
    const name = stringOpt(p, "name");
    if (name === undefined) throw new InputError("import: --name N is required (see 'cpuprof import --help')");
    checkProfileName(name, "import: --name");
    const vendor = choiceOpt("import", p, "vendor", ["intel", "amd"] as const);
    if (kind === "chv") {
      const [, cpuidFile, msrFile] = expectPositionals("import", p, 2, 3, "chv NAME.cpuid.json [NAME.msr.json]");
      const profile = importChv(readInputFile(cpuidFile!), msrFile === undefined ? undefined : readInputFile(msrFile), {
        vendor,
        name,
        cpuidFile: inputName(cpuidFile!),
        msrFile: msrFile === undefined ? undefined : inputName(msrFile),
      });
      await emitDocument(serializeProfile(profile), stringOpt(p, "o"), boolOpt(p, "json"));
      return 0;
    }
    if (kind === "firecracker") {
      const [, file] = expectPositionals("import", p, 2, 2, "firecracker TEMPLATE.json");
      if (vendor === undefined) throw new InputError("import: firecracker templates need --vendor intel|amd");
      await emitDocument(
        serializeProfile(importFirecrackerTemplate(readInputFile(file!), inputName(file!), { vendor, name })),
        stringOpt(p, "o"),
        boolOpt(p, "json"),
      );
      return 0;
    }
    throw new InputError(`import: expected 'chv', 'firecracker', 'qemu' or 'libvirt' (see 'cpuprof import --help')`);
  },
});
