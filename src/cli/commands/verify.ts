import { boolOpt, intOpt, listOpt, stringOpt, optionsHelp, type OptionSpec } from "../args.ts";
import { EXIT_CODES_HELP } from "../command.ts";
import { defineCommand } from "../define-command.ts";
import { emit, progressWanted, writeProgress } from "../io.ts";
import { loadProfileArg } from "../profile-input.ts";
import { hostLabel } from "../report.ts";
import { foldText, table, TEXT_WIDTH, wrapList } from "../table.ts";
import { EXIT } from "../../errors.ts";
import { kvmVendorModule } from "../../host/kvm-module.ts";
import { captureLiveHost } from "../../host/live.ts";
import { printable, stableJson } from "../../model/document.ts";
import { DIFFERENCE_CLASSES, type Difference } from "../../verify/difference.ts";
import { parseAllow, verifyAll, verifyProfile, type VerifyOptions, type VerifyResult } from "../../verify/run.ts";
import { Kvm } from "../../kvm/index.ts";

const options = {
  host: { type: "string", arg: "FILE", help: `check against a capture file: compatibility only, no guest check` },
  allow: {
    type: "string",
    multiple: true,
    arg: "CLASSES",
    help: `difference classes to accept (comma-separated or repeated), e.g.\n--allow hypervisor-rewrite for a hypervisor's known quirks`,
  },
  json: { type: "boolean", help: `machine-readable results (no progress output)` },
  "vcpu-id": { type: "string", arg: "N", help: `as for 'cpuprof apply'` },
  vcpus: { type: "string", arg: "N", help: `as for 'cpuprof apply'` },
  nested: { type: "boolean", help: `as for 'cpuprof apply'` },
  hyperv: { type: "boolean", help: `as for 'cpuprof apply'` },
} satisfies OptionSpec;

const help = () => `Usage: cpuprof verify [PROFILE...] [--host FILE] [--allow CLASS[,CLASS...]] [--json]
                      [--vcpu-id N] [--vcpus N] [--nested] [--hyperv]

Prove what a real KVM guest sees. For each profile: (1) compatibility with this host
(the apply report); (2) on the live /dev/kvm, a VM with one vCPU set up with the
applied CPUID table, feature MSRs and MSR filter runs a few bytes of 64-bit guest
code that executes CPUID for every leaf and subleaf (plus out-of-range probes) and
RDMSR for every permitted MSR, every MSR a guest OS uses for the features the guest
sees, and a sample of denied ones, in one KVM_RUN; (3) every
difference between what the guest saw and what the profile promises is classified.

With no PROFILE: every embedded profile is checked for compatibility (like QEMU's
runnable / unavailable-features), then the host profile and every compatible
profile get the guest check.

Difference classes:
  kvm-runtime         KVM rewrites the field from vCPU state (OSXSAVE, APIC, OSPKE, XSAVE
                      sizes): listed, never a failure
  hypervisor-rewrite  KVM_GET_CPUID2 after the run shows the same change: the kernel or
                      hypervisor rewrote the table we set (kvm_pvm does this)
  feature-exposed     a feature the profile hides is visible to the guest
  feature-missing     a feature the profile promises is absent
  field-mismatch      a multi-bit field differs
  msr-readable        a denied MSR was readable
  msr-fault           a permitted MSR faulted
  msr-value           an MSR read back another value than the one set
  os-msr-fault        the guest sees a feature, so a guest OS uses its MSR (tsc_deadline_timer:
                      0x6e0), but RDMSR faulted, or the filter denies a write-only one
                      (PRED_CMD, FLUSH_CMD: checked against the filter, the probe only reads)
  hidden-leaf         a leaf that describes what the guest lacks (an XSAVE component outside
                      XCR0/XSS, AMX, AVX10) is not zero
  out-of-range        CPUID beyond the table did not follow the vendor's documented fallback

Options:
${optionsHelp(options)}

Exit 0 only when every check holds (incompatible profiles in the no-PROFILE table are
listed, not failures); 1 on any failed check.

${EXIT_CODES_HELP}`;

/** KVM modules that cannot enforce a CPU profile, and why, said before anything else. */
const CANNOT_ENFORCE: Record<string, string> = {
  kvm_pvm:
    "this host's /dev/kvm is kvm_pvm, which cannot enforce CPU profiles: it rewrites the CPUID table a VMM sets, so guests here do not see exactly the profile (the guest check below shows what it changes)",
};

function diffSummary(diffs: readonly Difference[]): string {
  const counts = new Map<string, number>();
  for (const d of diffs) counts.set(d.class, (counts.get(d.class) ?? 0) + 1);
  return (
    DIFFERENCE_CLASSES.filter((c) => counts.has(c))
      .map((c) => `${counts.get(c)} ${c}`)
      .join(", ") || "none"
  );
}

function guestCell(r: VerifyResult): string {
  if (r.error) return "error";
  if (!r.guest) return "-";
  return `${r.passed ? "passed" : "FAILED"} (${r.guest.runs} runs, ${r.guest.elapsedMs.toFixed(1)} ms)`;
}

function compatCell(r: VerifyResult): string {
  if (r.compatibility.compatible) return "yes";
  const vendor = r.compatibility.problems.find((p) => p.kind === "vendor");
  return vendor ? "no (vendor)" : `no (${r.compatibility.problems.length} missing)`;
}

function details(r: VerifyResult): string {
  let out = "";
  if (!r.compatibility.compatible && r.compatibility.problems.every((p) => p.kind !== "vendor"))
    out += `${r.profile}: unavailable on this host:\n${wrapList(r.compatibility.problems.map((p) => p.name))}`;
  if (r.error) out += foldText(`${r.profile}: guest check failed: ${printable(r.error, 300)}\n`);
  const byClass = new Map<string, Difference[]>();
  for (const d of r.differences) byClass.set(d.class, [...(byClass.get(d.class) ?? []), d]);
  for (const cls of DIFFERENCE_CLASSES) {
    const ds = byClass.get(cls);
    if (!ds) continue;
    out += `${r.profile}: ${cls} (${ds.length}):\n${wrapList([...new Set(ds.map((d) => d.name))])}`;
    const explanations = [...new Set(ds.map((d) => d.explanation))].slice(0, 3);
    for (const e of explanations) out += foldText(`    why: ${printable(e, 300)}\n`, TEXT_WIDTH, 9);
  }
  return out;
}

export const verifyCommand = defineCommand({
  name: "verify",
  help,
  options,
  async run(p) {
    const allow: string[] = [];
    for (const given of listOpt(p, "allow")) {
      for (const a of given.split(",")) if (a.trim()) allow.push(a.trim());
    }
    parseAllow(allow); // bad class names are bad input, before any work
    const json = boolOpt(p, "json");
    const profiles = p.positionals.map(loadProfileArg);
    const hostFile = stringOpt(p, "host");
    // The capture-file readers load only for --host: the live host is verify's usual input.
    // One /dev/kvm fd for the capture and every guest check.
    using kvm = hostFile === undefined ? Kvm.open() : undefined;
    // Only what KVM reports: verify never looks at the kernel, microcode or BIOS of the host.
    const host = kvm
      ? captureLiveHost({ kvm, systemInfo: false })
      : (await import("../inputs.ts")).loadHostArg(hostFile!);
    const progress = !json && progressWanted();
    const module = hostFile === undefined ? kvmVendorModule() : null;
    const verifyOptions: VerifyOptions = {
      allow,
      guest: hostFile === undefined,
      ...(kvm ? { kvm } : {}),
      vcpuId: intOpt("verify", p, "vcpu-id", 0, 0xffffffff),
      vcpuCount: intOpt("verify", p, "vcpus", 1, 4096),
      nested: boolOpt(p, "nested"),
      hyperv: boolOpt(p, "hyperv"),
      // A process that exits once its checks are done: each VM closes on this thread (see ProbeOptions).
      probe: { closeInBackground: false },
      onProfile: progress ? (name, i, n) => writeProgress(`\r\x1b[Kverifying ${name} (${i + 1}/${n})…`) : undefined,
    };
    let results: VerifyResult[];
    let passed: boolean;
    if (profiles.length === 0) {
      const all = verifyAll(host, verifyOptions);
      results = all.results;
      passed = all.passed;
    } else {
      results = [];
      passed = true;
      for (let i = 0; i < profiles.length; i++) {
        const prof = profiles[i]!;
        verifyOptions.onProfile?.(prof.name, i, profiles.length);
        const r = verifyProfile(prof, host, verifyOptions);
        results.push(r);
        passed &&= r.passed;
      }
    }
    if (progress) writeProgress("\r\x1b[K");
    if (json) {
      await emit(
        stableJson({
          host: hostLabel(host),
          kvmModule: module,
          enforcesProfiles: module ? !CANNOT_ENFORCE[module] : null,
          passed,
          results,
        }),
        undefined,
      );
    } else {
      // A hypervisor that rewrites what a VMM sets cannot enforce a profile: the first thing to know.
      let out = module && CANNOT_ENFORCE[module] ? `${foldText(`note: ${CANNOT_ENFORCE[module]}`)}\n` : "";
      out += `host: ${hostLabel(host)}${module ? ` (/dev/kvm from ${module})` : hostFile ? ` (capture ${printable(hostFile, 120)}: compatibility only)` : ""}`;
      out = `${foldText(`${out}\n`)}\n`;
      out += table(
        results.map((r) => [r.profile, compatCell(r), guestCell(r), r.guest ? diffSummary(r.differences) : "-"]),
        ["PROFILE", "COMPATIBLE", "GUEST CHECK", "DIFFERENCES"],
      );
      const more = results.map((r) => details(r)).filter(Boolean);
      if (more.length) out += `\n${more.join("")}`;
      out += `\n${passed ? "verify: every check held" : "verify: FAILED"}${allow.length ? ` (allowed: ${allow.join(", ")})` : ""}\n`;
      await emit(out, undefined);
    }
    return passed ? EXIT.ok : EXIT.failed;
  },
});
