import { boolOpt, expectPositionals, stringOpt, optionsHelp, type OptionSpec } from "../args.ts";
import { EXIT_CODES_HELP } from "../command.ts";
import { defineCommand } from "../define-command.ts";
import { emit, emitDocument } from "../io.ts";
import { loadHostArg } from "../inputs.ts";
import { serializeHost, type HostCapture } from "../../model/host.ts";
import { hex32, hex64 } from "../../model/hex.ts";
import { msrName } from "../../catalogue/index.ts";
import { table } from "../table.ts";
import { printable } from "../../model/document.ts";

const options = {
  from: {
    type: "string",
    arg: "FILE",
    help: `import a capture instead of reading /dev/kvm: cpuprof's own format,\nor a Firecracker cpu-template-helper fingerprint or template dump`,
  },
  json: {
    type: "boolean",
    help: `print the capture as JSON (the format every other command reads); with\n-o, print on stdout the JSON written to FILE`,
  },
  o: {
    type: "string",
    short: "o",
    arg: "FILE",
    help: `write the JSON capture to FILE (atomically) and print the summary`,
  },
} satisfies OptionSpec;

const help = () => `Usage: cpuprof host [--from FILE] [--json] [-o FILE]

Capture what this host's KVM offers a guest: vendor, family/model/stepping, brand,
kernel, microcode, KVM API version and capabilities, KVM_GET_SUPPORTED_CPUID,
the feature MSRs with their values, and KVM_GET_MSR_INDEX_LIST.

Options:
${optionsHelp(options)}

Examples:
  cpuprof host                      summary of this host
  cpuprof host -o host.json         capture for baseline/generate
  cpuprof host --from fingerprint_INTEL_SKYLAKE_6.1host.json --json

${EXIT_CODES_HELP}`;

export function hostSummary(h: HostCapture): string {
  const rows: string[][] = [
    ["vendor", `${h.vendor} (${printable(h.vendorString, 40)})`],
    ["cpu", `family ${h.family} (${hex32(h.family)}), model ${h.model} (${hex32(h.model)}), stepping ${h.stepping}`],
    ["brand", h.brand === null ? "-" : printable(h.brand, 80)],
    ["kernel", h.kernel === null ? "-" : printable(h.kernel, 256)],
    ["microcode", h.microcode ?? "-"],
    ["source", h.source],
    ["kvm api", h.kvm ? String(h.kvm.apiVersion) : "-"],
    [
      "capabilities",
      h.kvm
        ? Object.entries(h.kvm.capabilities)
            .map(([k, v]) => `${k}=${v}`)
            .join(" ")
        : "-",
    ],
    ["cpuid entries", String(h.cpuid.length)],
    ["feature msrs", h.featureMsrs.map((m) => `${msrName(m.index)}=${hex64(m.value)}`).join(" ") || "-"],
    ["msr index list", `${h.msrIndexList.length} MSRs`],
  ];
  return table(rows);
}

export const hostCommand = defineCommand({
  name: "host",
  help,
  options,
  async run(p) {
    expectPositionals("host", p, 0, 0, "no positional arguments");
    const host = loadHostArg(stringOpt(p, "from"));
    const out = stringOpt(p, "o");
    const json = boolOpt(p, "json");
    if (out !== undefined || json) await emitDocument(serializeHost(host), out, json);
    if (!json) await emit(hostSummary(host), undefined);
    return 0;
  },
});
