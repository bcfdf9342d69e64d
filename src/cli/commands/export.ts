import { join } from "node:path";
import { mkdirSync, statSync } from "node:fs";
import { boolOpt, choiceOpt, expectPositionals, stringOpt, optionsHelp, type OptionSpec } from "../args.ts";
import { EXIT_CODES_HELP } from "../command.ts";
import { defineCommand } from "../define-command.ts";
import { emit, emitAll, emitDocument, writeStderr } from "../io.ts";
import { loadProfileArg } from "../inputs.ts";
import { InputError } from "../../errors.ts";
import { exportChv } from "../../formats/chv.ts";
import { exportFirecrackerTemplate } from "../../formats/firecracker-template.ts";
import { printable, stableJson } from "../../model/document.ts";
import { chooseQemuTable, profileToQemuCpu, type Inexpressible } from "../../qemu/cpu-string.ts";
import { qemuVersions } from "../../qemu/models.ts";
import { LIBVIRT_CPU_MAP } from "../../libvirt/cpu-map.ts";
import { formatKubevirtCpu, formatLibvirtCpu, profileToLibvirtCpu } from "../../libvirt/cpu-xml.ts";

const options = {
  o: { type: "string", short: "o", arg: "FILE", help: `write to FILE (atomically) instead of stdout` },
  "qemu-version": {
    type: "string",
    arg: "V",
    help: `(qemu) the QEMU release whose models to use: ${qemuVersions().join(", ")}\n(cpuprof carries the model tables of these releases, generated from\nthe real QEMU; default: the oldest that has a model of the profile's\nfamily and model, else the newest)`,
  },
  format: {
    type: "string",
    arg: "cpu|args",
    help: `(qemu) cpu: the -cpu value (default); args: '-accel kvm -cpu VALUE'\n(the flags assume QEMU's -accel kvm defaults: kvmclock on, ...)`,
  },
  strict: { type: "boolean", help: `(qemu, libvirt, kubevirt) an inexpressible feature is an error (exit 1)` },
  json: {
    type: "boolean",
    help: `JSON on stdout, also with -o (what was written to FILE): qemu, libvirt,\nkubevirt: model, flags/features, what could not be expressed;\nfirecracker: the template; chv: the two files written`,
  },
} satisfies OptionSpec;

const help = () => `Usage: cpuprof export chv PROFILE DIR [--json]
       cpuprof export firecracker PROFILE [--json] [-o FILE]
       cpuprof export qemu PROFILE [--qemu-version V] [--format cpu|args] [--strict] [--json] [-o FILE]
       cpuprof export libvirt PROFILE [--strict] [--json] [-o FILE]
       cpuprof export kubevirt PROFILE [--strict] [--json] [-o FILE]

Write a profile in another VMM's format.
  chv          Cloud Hypervisor's two files, DIR/NAME.cpuid.json and DIR/NAME.msr.json
               (upstream format: unpadded lower-case hex, "required_msrs")
  firecracker  a Firecracker custom CPU template (cpuid_modifiers / msr_modifiers bitmaps,
               'x' where the profile leaves a bit to the host)
  qemu         a QEMU -cpu value: the named model of that QEMU release needing the fewest
               +feat/-feat flags (against QEMU's -accel kvm defaults), then the flags
  libvirt      a <cpu mode='custom' match='exact' check='full'> element: a model from
               libvirt's CPU map with <feature policy='require'|'disable'> where they differ
  kubevirt     the spec.template.spec.domain.cpu block of a KubeVirt VirtualMachine (YAML)
Features the target cannot express (no property or name for them, or left to the host by
the profile) are listed on stderr, one line each with the reason.

Options:
${optionsHelp(options)}

${EXIT_CODES_HELP}`;

/** Inexpressible features: one stderr line each; with --strict, the export fails (exit 1) and prints nothing. Notes: stderr, never fatal. */
function reportInexpressible(
  engine: string,
  list: readonly Inexpressible[],
  strict: boolean,
  notes: readonly string[],
): boolean {
  for (const i of list)
    writeStderr(
      `export ${engine}: ${strict ? "error" : "warning"}: cannot express ${i.feature}${i.qemu ? ` (${i.qemu})` : ""}: ${i.reason}`,
    );
  if (strict && list.length > 0) return true;
  for (const n of notes) writeStderr(`export ${engine}: note: ${n}`);
  return false;
}

export const exportCommand = defineCommand({
  name: "export",
  help,
  options,
  async run(p) {
    const [kind] = p.positionals;
    if (kind !== "qemu" && (stringOpt(p, "qemu-version") !== undefined || stringOpt(p, "format") !== undefined))
      throw new InputError("export: --qemu-version and --format apply to 'export qemu' only");
    if (kind === "chv") {
      const [, profileArg, dir] = expectPositionals("export", p, 3, 3, "chv PROFILE DIR");
      const profile = loadProfileArg(profileArg!);
      try {
        mkdirSync(dir!, { recursive: true });
        if (!statSync(dir!).isDirectory()) throw new Error();
      } catch {
        throw new InputError(`export: cannot use '${printable(dir!, 200)}' as a directory`);
      }
      const files = exportChv(profile);
      const cpuidFile = join(dir!, `${profile.name}.cpuid.json`);
      const msrFile = join(dir!, `${profile.name}.msr.json`);
      // Both files or neither: a new .cpuid.json beside an old .msr.json would be a profile nobody made.
      await emitAll([
        { path: cpuidFile, data: files.cpuid },
        { path: msrFile, data: files.msr },
      ]);
      await emit(
        boolOpt(p, "json")
          ? stableJson({ written: [cpuidFile, msrFile] })
          : `wrote ${printable(cpuidFile, 300)}\nwrote ${printable(msrFile, 300)}\n`,
        undefined,
      );
      return 0;
    }
    if (kind === "firecracker") {
      const [, profileArg] = expectPositionals("export", p, 2, 2, "firecracker PROFILE");
      const profile = loadProfileArg(profileArg!);
      await emitDocument(exportFirecrackerTemplate(profile), stringOpt(p, "o"), boolOpt(p, "json"));
      return 0;
    }
    if (kind === "qemu") {
      const [, profileArg] = expectPositionals("export", p, 2, 2, "qemu PROFILE");
      const format = choiceOpt("export", p, "format", ["cpu", "args"] as const) ?? "cpu";
      const requested = stringOpt(p, "qemu-version");
      if (requested !== undefined && !chooseQemuTable(requested))
        throw new InputError(
          `export: --qemu-version '${printable(requested, 40)}': cpuprof has QEMU model tables for ${qemuVersions().join(", ")}`,
        );
      const profile = loadProfileArg(profileArg!);
      const table = chooseQemuTable(requested, profile)!;
      const out = profileToQemuCpu(profile, table);
      const which =
        requested === undefined && qemuVersions().length > 1
          ? [`models of QEMU ${table.version} (--qemu-version chooses: ${qemuVersions().join(", ")})`]
          : [];
      if (reportInexpressible("qemu", out.inexpressible, boolOpt(p, "strict"), [...which, ...out.notes])) return 1;
      const text = boolOpt(p, "json")
        ? stableJson({ profile: profile.name, ...out })
        : format === "args"
          ? `-accel kvm -cpu ${out.cpu}\n`
          : `${out.cpu}\n`;
      await emitDocument(text, stringOpt(p, "o"), boolOpt(p, "json"));
      return 0;
    }
    if (kind === "libvirt" || kind === "kubevirt") {
      const [, profileArg] = expectPositionals("export", p, 2, 2, `${kind} PROFILE`);
      const profile = loadProfileArg(profileArg!);
      const cpu = profileToLibvirtCpu(profile, LIBVIRT_CPU_MAP);
      if (reportInexpressible(kind, cpu.inexpressible, boolOpt(p, "strict"), kind === "kubevirt" ? [] : cpu.notes))
        return 1;
      const text = boolOpt(p, "json")
        ? stableJson({ profile: profile.name, ...cpu })
        : kind === "libvirt"
          ? formatLibvirtCpu(cpu)
          : formatKubevirtCpu(
              cpu,
              `cpuprof export kubevirt ${profile.name} (libvirt ${cpu.libvirtVersion} CPU map): spec.template.spec.domain.cpu`,
            );
      await emitDocument(text, stringOpt(p, "o"), boolOpt(p, "json"));
      return 0;
    }
    throw new InputError(
      `export: expected 'chv', 'firecracker', 'qemu', 'libvirt' or 'kubevirt' (see 'cpuprof export --help')`,
    );
  },
});
