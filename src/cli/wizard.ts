// The interactive wizard: `cpuprof` with no arguments in a terminal. It only asks, calls the
// core and prints: source (this host's /dev/kvm or capture files) -> profile (generate, baseline,
// embedded) -> what the guest sees in feature names -> write the file (atomically, never
// overwriting without a yes) -> optionally verify on this host in a real KVM guest.
// Ctrl-C or Escape at any prompt cancels: exit 130, and nothing is written before the path is given.
import { existsSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { basename, dirname, resolve } from "node:path";
import * as p from "@clack/prompts";
import { CpuprofError, EXIT, InputError } from "../errors.ts";
import { embeddedProfile, embeddedProfileNames } from "../embedded/profiles.ts";
import { baselineProfile } from "../fleet/baseline-profile.ts";
import { loadHostFile } from "../formats/host-file.ts";
import { kvmVendorModule } from "../host/kvm-module.ts";
import { captureLiveHost } from "../host/live.ts";
import { printable } from "../model/document.ts";
import type { HostCapture } from "../model/host.ts";
import { profileNameProblem, serializeProfile, type Profile } from "../model/profile.ts";
import { applyProfile, type CompatReport } from "../profile/apply.ts";
import { guestChanges } from "../profile/describe.ts";
import { generateProfile } from "../profile/generate.ts";
import { DIFFERENCE_CLASSES, type Difference } from "../verify/difference.ts";
import { verifyProfile, type VerifyResult } from "../verify/run.ts";
import { TOOL_VERSION } from "../version.ts";
import { readInputFile, writeOutput } from "./io.ts";
import { hostLabel } from "./report.ts";
import { wrapList } from "./table.ts";

/** Exit code when the user cancels a prompt (as a shell reports SIGINT). */
export const EXIT_CANCELLED = 130;

const KVM_DEVICE = "/dev/kvm";

class Cancelled extends Error {}

/** The answer of a prompt, or a Cancelled throw on Ctrl-C / Escape. */
function answer<T>(value: T): Exclude<T, symbol> {
  if (p.isCancel(value)) throw new Cancelled();
  return value as Exclude<T, symbol>;
}

const listWidth = () => Math.max(40, Math.min(100, (process.stdout.columns ?? 80) - 10));
const list = (items: readonly string[]) => wrapList(items, "  ", listWidth()).trimEnd() || "  (none)";
const tick = () => new Promise<void>((r) => setTimeout(r, 20));

interface Source {
  live: boolean;
  hosts: HostCapture[];
  labels: string[];
}

interface Chosen {
  profile: Profile;
  /** Lines about how it was made, shown before the diff. */
  summary?: string;
}

// ---------------------------------------------------------------------------------------------
// Step 1: where the host(s) come from.

/** Splits the answer into paths: whitespace or commas, `~/` expanded, globs resolved. */
function expandPaths(input: string): string[] {
  const out: string[] = [];
  for (const raw of input.split(/[\s,]+/).filter(Boolean)) {
    const token = raw === "~" || raw.startsWith("~/") ? homedir() + raw.slice(1) : raw;
    if (/[*?[{]/.test(token)) {
      const matches = [...new Bun.Glob(token).scanSync({ cwd: process.cwd(), onlyFiles: true })].sort();
      if (matches.length === 0) throw new InputError(`${printable(token, 120)}: no file matches`);
      out.push(...matches);
    } else out.push(token);
  }
  return [...new Set(out)];
}

function loadCaptures(input: string): Source {
  const paths = expandPaths(input);
  if (paths.length === 0) throw new InputError("give at least one capture file");
  return { live: false, hosts: paths.map((f) => loadHostFile(readInputFile(f), f)), labels: paths };
}

async function chooseSource(): Promise<Source> {
  const haveKvm = existsSync(KVM_DEVICE);
  for (;;) {
    const kind = answer(
      await p.select({
        message: "Which host(s)?",
        options: [
          { value: "live" as const, label: "This host", hint: haveKvm ? "capture /dev/kvm now" : "no /dev/kvm here" },
          { value: "files" as const, label: "Capture files", hint: "'cpuprof host' output or Firecracker fingerprints" },
        ],
        initialValue: haveKvm ? ("live" as const) : ("files" as const),
      }),
    );
    if (kind === "live") {
      const s = p.spinner();
      s.start("Capturing this host from /dev/kvm");
      await tick();
      try {
        const host = captureLiveHost();
        s.stop(`Captured ${hostLabel(host)}`);
        return { live: true, hosts: [host], labels: ["this host"] };
      } catch (e) {
        if (!(e instanceof CpuprofError)) throw e;
        s.error(`cannot capture this host: ${e.message}`);
        continue;
      }
    }
    // Validation loads the files; keep what it loaded so they are read once more at most.
    let loaded: { input: string; source: Source } | undefined;
    const input = answer(
      await p.text({
        message: "Capture files (separated by spaces; globs such as hosts/*.json work)",
        placeholder: "hosts/*.json",
        validate(value) {
          const text = (value ?? "").trim();
          if (!text) return "give at least one capture file";
          try {
            loaded = { input: text, source: loadCaptures(text) };
            return undefined;
          } catch (e) {
            if (e instanceof CpuprofError) return e.message;
            throw e;
          }
        },
      }),
    ).trim();
    const source = loaded && loaded.input === input ? loaded.source : loadCaptures(input);
    p.log.info(
      `Loaded ${source.hosts.length} capture${source.hosts.length === 1 ? "" : "s"}:\n` +
        source.hosts.map((h, i) => `  ${printable(basename(source.labels[i]!), 80)}: ${hostLabel(h)}`).join("\n"),
    );
    return source;
  }
}

// ---------------------------------------------------------------------------------------------
// Step 2: which profile.

async function askName(initial: string): Promise<string> {
  return answer(
    await p.text({
      message: "Profile name (kebab-case)",
      placeholder: initial,
      defaultValue: initial,
      validate: (v) => profileNameProblem((v ?? "").trim() || initial),
    }),
  ).trim() || initial;
}

function compatHint(profile: Profile, source: Source): string {
  const ok = source.hosts.filter((h) => applyProfile(profile, h).report.compatible).length;
  const where = source.live ? "this host" : source.hosts.length === 1 ? "the capture" : `${ok}/${source.hosts.length} captures`;
  const verdict = source.hosts.length === 1 ? (ok ? `runs on ${where}` : `not for ${where}`) : `runs on ${where}`;
  return `${profile.vendor}, ${verdict}`;
}

/** The profile, or undefined to go back to the choice of hosts. */
async function chooseProfile(source: Source): Promise<Chosen | undefined> {
  const many = source.hosts.length > 1;
  for (;;) {
    const action = answer(
      await p.select({
        message: "Which profile?",
        options: [
          ...(many
            ? [{ value: "baseline" as const, label: `Baseline over the ${source.hosts.length} captures`, hint: "runs on every one of them" }]
            : [{ value: "generate" as const, label: `Generate from ${source.live ? "this host" : "the capture"}`, hint: "by the policy table" }]),
          { value: "embedded" as const, label: "An embedded profile", hint: embeddedProfileNames().join(", ") },
          { value: "back" as const, label: "Back", hint: "choose other hosts" },
        ],
      }),
    );
    if (action === "back") return undefined;
    try {
      if (action === "embedded") {
        const names = embeddedProfileNames();
        const name = answer(
          await p.autocomplete({
            message: "Embedded profile (type to filter)",
            options: names.map((n) => ({ value: n, label: n, hint: compatHint(embeddedProfile(n)!, source) })),
            maxItems: 12,
          }),
        );
        return { profile: embeddedProfile(name)! };
      }
      if (action === "generate") {
        const host = source.hosts[0]!;
        const name = await askName(source.live ? "this-host" : "my-host");
        const r = generateProfile(host, { name });
        const summary =
          `${r.profile.name} (${r.profile.vendor}) from ${hostLabel(host)}: ` +
          `${r.summary.kept.length} features kept, ${r.summary.hidden.length} hidden, ${r.summary.leftToHost.length} fields left to the host` +
          (r.unknown.length ? `\nunknown to the policy, hidden (${r.unknown.length}):\n${list(r.unknown.map((u) => u.text))}` : "");
        return { profile: r.profile, summary };
      }
      const name = await askName("fleet");
      const r = baselineProfile(source.hosts, { name, labels: source.labels });
      const summary =
        `${r.profile.name} (${r.profile.vendor}): baseline of ${source.hosts.length} hosts, compatible with each` +
        (r.unknown.length ? `\nunknown to the policy, hidden (${r.unknown.length}):\n${list(r.unknown.map((u) => u.text))}` : "");
      return { profile: r.profile, summary };
    } catch (e) {
      if (!(e instanceof CpuprofError)) throw e;
      p.log.error(e.message);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Step 3: what a guest sees, in feature names.

function reportLines(r: CompatReport): string {
  return [
    ...r.problems.map((x) => `  ${x.kind}: ${x.name}: ${printable(x.detail, 160)}`),
    ...r.notes.map((n) => `  note: ${printable(n, 160)}`),
  ].join("\n");
}

function showDiff(profile: Profile, source: Source, summary: string | undefined): void {
  if (summary) p.log.info(summary);
  source.hosts.forEach((host, i) => {
    const config = applyProfile(profile, host);
    const r = config.report;
    const where = source.live ? "this host" : printable(basename(source.labels[i]!), 80);
    let text = `${profile.name} on ${where}: ${r.compatible ? "compatible" : "INCOMPATIBLE"}\n  ${hostLabel(host)}`;
    const problems = reportLines(r);
    if (problems) text += `\n${problems}`;
    if (profile.vendor === host.vendor) {
      const c = guestChanges(host.vendor, host.cpuid, config.cpuid, host.featureMsrs, config.msrs);
      text += `\nhidden from the guest (${c.hidden.length}):\n${list(c.hidden)}`;
      text += `\nadded for the guest (${c.added.length}):\n${list(c.added)}`;
      if (c.fields.length) text += `\nfields changed (${c.fields.length}):\n${c.fields.map((f) => `  ${f.name}: ${f.from} -> ${f.to}`).join("\n")}`;
      if (c.msrs.length) text += `\nfeature MSRs changed (${c.msrs.length}):\n${c.msrs.map((f) => `  ${f.name}: ${f.from} -> ${f.to}`).join("\n")}`;
    }
    (r.compatible ? p.log.success : p.log.warn)(text);
  });
}

// ---------------------------------------------------------------------------------------------
// Step 4: write it.

function pathProblem(value: string): string | undefined {
  const path = resolve(value);
  try {
    if (statSync(path).isDirectory()) return `${value} is a directory`;
  } catch {
    /* does not exist yet: fine */
  }
  const dir = dirname(path);
  try {
    if (!statSync(dir).isDirectory()) return `${dirname(value)} is not a directory`;
  } catch {
    return `directory ${dirname(value)} does not exist`;
  }
  return undefined;
}

async function writeProfile(profile: Profile): Promise<string> {
  const suggested = `./${profile.name}.json`;
  for (;;) {
    const given =
      answer(
        await p.text({
          message: "Write the profile to",
          placeholder: suggested,
          defaultValue: suggested,
          validate: (v) => pathProblem((v ?? "").trim() || suggested),
        }),
      ).trim() || suggested;
    const path = resolve(given.startsWith("~/") ? homedir() + given.slice(1) : given);
    if (existsSync(path)) {
      const overwrite = answer(await p.confirm({ message: `${given} exists. Overwrite it?`, initialValue: false }));
      if (!overwrite) continue;
    }
    try {
      const text = serializeProfile(profile);
      await writeOutput(path, text);
      p.log.success(`Wrote ${given} (${new TextEncoder().encode(text).byteLength} bytes)`);
      return given;
    } catch (e) {
      if (!(e instanceof CpuprofError)) throw e;
      p.log.error(e.message);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Step 5: verify on this host.

function countsByClass(diffs: readonly Difference[]): string {
  const counts = new Map<string, number>();
  for (const d of diffs) counts.set(d.class, (counts.get(d.class) ?? 0) + 1);
  return DIFFERENCE_CLASSES.filter((c) => counts.has(c)).map((c) => `${counts.get(c)} ${c}`).join(", ") || "no differences";
}

function verifyDetails(r: VerifyResult): string {
  const out: string[] = [];
  for (const cls of DIFFERENCE_CLASSES) {
    const ds = r.differences.filter((d) => d.class === cls);
    if (!ds.length) continue;
    out.push(`${cls} (${ds.length}):\n${list([...new Set(ds.map((d) => d.name))])}`);
    for (const why of [...new Set(ds.map((d) => d.explanation))].slice(0, 2)) out.push(`    why: ${printable(why, 200)}`);
  }
  return out.join("\n");
}

async function verifyHere(profile: Profile, source: Source): Promise<number> {
  const s = p.spinner();
  s.start(`Verifying ${profile.name} in a KVM guest on this host`);
  await tick();
  let r: VerifyResult;
  try {
    const host = source.live ? source.hosts[0]! : captureLiveHost();
    r = verifyProfile(profile, host, { guest: true });
  } catch (e) {
    if (!(e instanceof CpuprofError)) throw e;
    s.error(`verify: ${e.message}`);
    return e.exitCode;
  }
  if (!r.compatibility.compatible) {
    s.error(`verify: ${profile.name} cannot run on this host, so no guest check`);
    p.log.warn(reportLines(r.compatibility));
    return EXIT.failed;
  }
  if (r.error) {
    s.error(`verify: the guest check failed: ${printable(r.error, 200)}`);
    return EXIT.failed;
  }
  const g = r.guest;
  const how = g ? `${g.cpuidProbes} CPUID and ${g.msrProbes} MSR probes, ${g.runs} runs, ${g.elapsedMs.toFixed(1)} ms` : "no guest run";
  if (r.passed) s.stop(`verify: passed (${how}; ${countsByClass(r.differences)})`);
  else s.error(`verify: FAILED (${how}; ${countsByClass(r.differences)})`);
  const details = verifyDetails(r);
  if (details) (r.passed ? p.log.info : p.log.warn)(details);
  if (!r.passed && kvmVendorModule() === "kvm_pvm" && r.differences.some((d) => d.class === "hypervisor-rewrite"))
    p.log.info("this host's /dev/kvm is kvm_pvm, which rewrites guest CPUID: 'cpuprof verify FILE --allow hypervisor-rewrite' accepts that");
  return r.passed ? EXIT.ok : EXIT.failed;
}

// ---------------------------------------------------------------------------------------------

export async function runWizard(): Promise<number> {
  p.intro(`cpuprof ${TOOL_VERSION}: CPU profiles for KVM`);
  let written: string | undefined;
  try {
    let source: Source, chosen: Chosen | undefined;
    do {
      source = await chooseSource();
      chosen = await chooseProfile(source);
    } while (!chosen);
    showDiff(chosen.profile, source, chosen.summary);
    written = await writeProfile(chosen.profile);
    let code: number = EXIT.ok;
    if (existsSync(KVM_DEVICE)) {
      const verify = answer(await p.confirm({ message: "Verify it on this host now (a real KVM guest, a few milliseconds)?", initialValue: true }));
      if (verify) code = await verifyHere(chosen.profile, source);
    } else p.log.info(`No ${KVM_DEVICE} here: on a KVM host, run 'cpuprof verify ${written}'`);
    p.outro(`Done. Next: 'cpuprof show ${written}', 'cpuprof apply ${written} --format kvm-cpuid2 -o cpuid.bin'`);
    return code;
  } catch (e) {
    if (e instanceof Cancelled) {
      p.cancel(written ? `cancelled (${written} was already written)` : "cancelled: nothing written");
      return EXIT_CANCELLED;
    }
    if (e instanceof CpuprofError) {
      p.log.error(e.message);
      p.outro(written ? `stopped (${written} was written)` : "stopped: nothing written");
      return e.exitCode;
    }
    throw e;
  }
}
