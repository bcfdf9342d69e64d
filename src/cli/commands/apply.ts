import { boolOpt, choiceOpt, expectPositionals, intOpt, stringOpt, optionsHelp, type OptionSpec } from "../args.ts";
import { EXIT_CODES_HELP } from "../command.ts";
import { defineCommand } from "../define-command.ts";
import { emit, refuseBinaryOnTerminal, writeStderr } from "../io.ts";
import { loadHostArg, loadProfileArg } from "../inputs.ts";
import { formatReport, formatGuestChanges, hostLabel } from "../report.ts";
import { stableJson } from "../../model/document.ts";
import { EXIT } from "../../errors.ts";
import { applyProfile } from "../../profile/apply.ts";
import { msrsToSaveText, serializeVcpuConfig } from "../../formats/vcpu-config.ts";
import { kvmCpuid2Bytes, kvmMsrsBytes, msrFilterBytes } from "../../formats/binary.ts";
import { exportFirecrackerTemplate } from "../../formats/firecracker-template.ts";

const BINARY_FORMATS = ["kvm-cpuid2", "kvm-msrs", "msr-filter"] as const;
const FORMATS = ["text", "json", "kvm-cpuid2", "kvm-msrs", "msr-filter", "msrs-to-save", "firecracker"] as const;

const options = {
  host: {
    type: "string",
    arg: "FILE",
    help: `host capture (cpuprof or Firecracker format); default: this host's /dev/kvm`,
  },
  "vcpu-id": {
    type: "string",
    arg: "N",
    help: `vCPU id: initial APIC id in 1.EBX, x2APIC id in 0xB/0x1F, AMD 0x8000001E (default 0)`,
  },
  vcpus: { type: "string", arg: "N", help: `vCPU count: logical processor counts (default 1)` },
  hyperv: { type: "boolean", help: `keep the Hyper-V synthetic MSRs permitted (denied by default)` },
  nested: { type: "boolean", help: `keep VMX/SVM and the VMX capability MSRs (dropped by default)` },
  "msr-filter": { type: "string", arg: "on|off", help: `off leaves the filter out (default on)` },
  format: {
    type: "string",
    arg: "F",
    help: `text (default), json, kvm-cpuid2 (struct kvm_cpuid2 for KVM_SET_CPUID2),\nkvm-msrs (struct kvm_msrs for KVM_SET_MSRS), msr-filter (struct kvm_msr_filter,\neach range's bitmap field holding the byte offset of its bitmap in the file),\nmsrs-to-save (the MSRs a VMM saves and restores for this guest: this host's\nKVM_GET_MSR_INDEX_LIST that the profile permits, one 0x index per line),\nfirecracker (a Firecracker custom CPU template)`,
  },
  json: { type: "boolean", help: `same as --format json` },
  o: { type: "string", short: "o", arg: "FILE", help: `write the output to FILE (atomically)` },
} satisfies OptionSpec;

const help = () => `Usage: cpuprof apply PROFILE [--host FILE] [--vcpu-id N] [--vcpus N] [--hyperv] [--nested]
                     [--msr-filter on|off] [--format F] [--json] [-o FILE]

Apply a profile to a host, as a VMM does when it creates or receives a VM: the
complete CPUID table for the vCPU, the feature-MSR values to set, the MSR filter
(default allow; denies the MSRs this host knows that the profile does not permit),
and the compatibility report. PROFILE is an embedded name (cpuprof list) or a file.

Options:
${optionsHelp(options)}

When the profile is incompatible with the host nothing is written and the exit code
is 1: the report goes to stderr, or with --json to stdout as JSON. The binary formats
(kvm-cpuid2, kvm-msrs, msr-filter) are refused on a terminal: use -o FILE or a pipe.

Examples:
  cpuprof apply skylake --host host.json
  cpuprof apply sapphire-rapids --format kvm-cpuid2 -o cpuid.bin
  cpuprof apply my-profile.json --vcpu-id 3 --vcpus 8 --json

${EXIT_CODES_HELP}`;

export const applyCommand = defineCommand({
  name: "apply",
  help,
  options,
  async run(p) {
    const [profileArg] = expectPositionals("apply", p, 1, 1, "one PROFILE (an embedded name or a file)");
    const format = boolOpt(p, "json") ? "json" : (choiceOpt("apply", p, "format", FORMATS) ?? "text");
    const filterChoice = choiceOpt("apply", p, "msr-filter", ["on", "off"] as const) ?? "on";
    const vcpuCount = intOpt("apply", p, "vcpus", 1, 4096) ?? 1;
    const vcpuId = intOpt("apply", p, "vcpu-id", 0, 0xffffffff) ?? 0;
    if ((BINARY_FORMATS as readonly string[]).includes(format)) refuseBinaryOnTerminal(stringOpt(p, "o"));
    const profile = loadProfileArg(profileArg!);
    const host = loadHostArg(stringOpt(p, "host"));
    const config = applyProfile(profile, host, {
      vcpuId,
      vcpuCount,
      nested: boolOpt(p, "nested"),
      hyperv: boolOpt(p, "hyperv"),
      msrFilter: filterChoice === "on",
    });
    if (!config.report.compatible) {
      // Nothing is written; with --json the report itself is the answer on stdout.
      if (format === "json") {
        await emit(
          stableJson({ profile: profile.name, host: hostLabel(host), compatible: false, report: config.report }),
          undefined,
        );
        writeStderr(
          `apply: ${profile.name} is incompatible with the host (${config.report.problems.length} problems): the JSON report is on stdout`,
        );
      } else writeStderr(formatReport(profile.name, host, config.report).trimEnd());
      return EXIT.failed;
    }
    const out = stringOpt(p, "o");
    switch (format) {
      case "json":
        await emit(serializeVcpuConfig(profile.name, config), out);
        break;
      case "kvm-cpuid2":
        await emit(kvmCpuid2Bytes(config.cpuid), out);
        break;
      case "kvm-msrs":
        await emit(kvmMsrsBytes(config.msrs), out);
        break;
      case "msr-filter":
        await emit(msrFilterBytes(config.msrFilter ?? { flags: 0, ranges: [] }), out);
        break;
      case "msrs-to-save":
        await emit(msrsToSaveText(config.msrsToSave), out);
        break;
      case "firecracker":
        await emit(exportFirecrackerTemplate(profile, host), out);
        break;
      default:
        await emit(formatReport(profile.name, host, config.report) + formatGuestChanges(profile, host, config), out);
    }
    return EXIT.ok;
  },
});
