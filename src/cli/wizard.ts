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
import { DIFFERENCE_CLASSES, verdict, type Difference } from "../verify/difference.ts";
import { verifyProfile, type VerifyResult } from "../verify/run.ts";
import { TOOL_VERSION } from "../version.ts";
import { readInputFile, writeOutput } from "./io.ts";
import { hostLabel, problemLine } from "./report.ts";
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

/**
 * Splits the answer into paths as a shell would: whitespace separates them, quotes ('a b.json',
 * "a b.json") and backslashes (a\ b.json) keep spaces in one. An answer that is itself an existing
 * file is that one path, spaces and all (a pasted or dragged path).
 */
export function splitPaths(input: string): string[] {
  const text = input.trim();
  if (text && !/^['"]/.test(text) && existsSync(text) && !statSync(text).isDirectory()) return [text];
  const out: string[] = [];
  let cur = "";
  let quote: string | null = null;
  let started = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = null;
      else cur += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      started = true;
    } else if (c === "\\" && i + 1 < text.length) {
      cur += text[++i];
      started = true;
    } else if (/[\s,]/.test(c)) {
      if (started || cur) out.push(cur);
      cur = "";
      started = false;
    } else cur += c;
  }
  if (quote) throw new InputError(`unclosed ${quote} in the file list`);
  if (started || cur) out.push(cur);
  return out.filter(Boolean);
}

/** The answer as paths (see splitPaths), `~/` expanded, globs resolved. */
function expandPaths(input: string): string[] {
  const out: string[] = [];
  for (const raw of splitPaths(input)) {
    const token = raw === "~" || raw.startsWith("~/") ? homedir() + raw.slice(1) : raw;
    if (/[*?[{]/.test(token) && !existsSync(token)) {
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
  const hosts = paths.map((f) => loadHostFile(readInputFile(f), f));
  // A profile is for one vendor: captures of two are refused here, before any name is asked.
  const vendors = [...new Set(hosts.map((h) => h.vendor))];
  if (vendors.length > 1)
    throw new InputError(
      `captures of two vendors (${vendors
        .map(
          (v) =>
            `${v}: ${paths
              .filter((_, i) => hosts[i]!.vendor === v)
              .map((p) => basename(p))
              .join(", ")}`,
        )
        .join("; ")}): a profile is for one vendor, give captures of one`,
    );
  return { live: false, hosts, labels: paths };
}

async function chooseSource(): Promise<Source> {
  const haveKvm = existsSync(KVM_DEVICE);
  for (;;) {
    const kind = answer(
      await p.select({
        message: "Which host(s)?",
        options: [
          { value: "live" as const, label: "This host", hint: haveKvm ? "capture /dev/kvm now" : "no /dev/kvm here" },
          {
            value: "files" as const,
            label: "Capture files",
            hint: "'cpuprof host' output or Firecracker fingerprints",
          },
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
        message: "Capture files (separated by spaces; quote a path with spaces; globs such as hosts/*.json work)",
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
  return (
    answer(
      await p.text({
        message: "Profile name (kebab-case)",
        placeholder: initial,
        defaultValue: initial,
        validate: (v) => profileNameProblem((v ?? "").trim() || initial),
      }),
    ).trim() || initial
  );
}

/** How many of the source's hosts run `profile`, and the hint every row of the list shows. */
function compatOf(profile: Profile, source: Source): { ok: number; hint: string } {
  const reports = source.hosts.map((h) => applyProfile(profile, h).report);
  const ok = reports.filter((r) => r.compatible).length;
  const vendor = profile.kind === "host" ? "any vendor" : profile.vendor;
  const where = source.live
    ? "this host"
    : source.hosts.length === 1
      ? "the capture"
      : `${source.hosts.length} captures`;
  if (ok === source.hosts.length) return { ok, hint: `${vendor}: compatible with ${where}` };
  if (source.hosts.length > 1) return { ok, hint: `${vendor}: compatible with ${ok} of ${where}` };
  const r = reports[0]!;
  const why = r.problems.some((x) => x.kind === "vendor")
    ? "other vendor"
    : `${new Set(r.problems.map((x) => x.name)).size} missing`;
  return { ok, hint: `${vendor}: INCOMPATIBLE with ${where} (${why})` };
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
            ? [
                {
                  value: "baseline" as const,
                  label: `Baseline over the ${source.hosts.length} captures`,
                  hint: "runs on every one of them",
                },
              ]
            : [
                {
                  value: "generate" as const,
                  label: `Generate from ${source.live ? "this host" : "the capture"}`,
                  hint: "by the policy table",
                },
              ]),
          { value: "embedded" as const, label: "An embedded profile", hint: embeddedProfileNames().join(", ") },
          { value: "back" as const, label: "Back", hint: "choose other hosts" },
        ],
      }),
    );
    if (action === "back") return undefined;
    try {
      if (action === "embedded") {
        const rows = embeddedProfileNames().map((n) => ({ name: n, ...compatOf(embeddedProfile(n)!, source) }));
        const width = Math.max(...rows.map((r) => r.name.length));
        // Open on a profile that runs on every host (a migratable one before the host profile).
        const best = [...rows].sort((a, b) => b.ok - a.ok || Number(a.name === "host") - Number(b.name === "host"))[0];
        const name = answer(
          await p.autocomplete({
            message: "Embedded profile (type to filter)",
            // The compatibility is part of every row's label (a hint shows on the focused row only); typing filters by name.
            options: rows.map((r) => ({ value: r.name, label: `${r.name.padEnd(width)}  ${r.hint}` })),
            filter: (search, option) => option.value.includes(search.trim().toLowerCase()),
            ...(best ? { initialValue: best.name } : {}),
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
          (r.unknown.length
            ? `\nunknown to the policy, hidden (${r.unknown.length}):\n${list(r.unknown.map((u) => u.text))}`
            : "");
        return { profile: r.profile, summary };
      }
      const name = await askName("fleet");
      const r = baselineProfile(source.hosts, { name, labels: source.labels });
      const summary =
        `${r.profile.name} (${r.profile.vendor}): baseline of ${source.hosts.length} hosts, compatible with each` +
        (r.unknown.length
          ? `\nunknown to the policy, hidden (${r.unknown.length}):\n${list(r.unknown.map((u) => u.text))}`
          : "");
      return { profile: r.profile, summary };
    } catch (e) {
      if (!(e instanceof CpuprofError)) throw e;
      p.log.error(e.message);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Step 3: what a guest sees, in feature names.

/** Each problem once, naming its feature once (problemLine), then the notes. */
function reportLines(r: CompatReport): string {
  return [
    ...new Set([
      ...r.problems.map((x) => `  ${problemLine(x)}`),
      ...r.notes.map((n) => `  note: ${printable(n, 160)}`),
    ]),
  ].join("\n");
}

/** Shows what the guest sees on each host; true when the profile runs on every one of them. */
function showDiff(profile: Profile, source: Source, summary: string | undefined): boolean {
  if (summary) p.log.info(summary);
  let all = true;
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
      if (c.fields.length)
        text += `\nfields changed (${c.fields.length}):\n${c.fields.map((f) => `  ${f.name}: ${f.from} -> ${f.to}`).join("\n")}`;
      if (c.msrs.length)
        text += `\nfeature MSRs changed (${c.msrs.length}):\n${c.msrs.map((f) => `  ${f.name}: ${f.from} -> ${f.to}`).join("\n")}`;
    }
    (r.compatible ? p.log.success : p.log.warn)(text);
    all &&= r.compatible;
  });
  return all;
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
  return (
    DIFFERENCE_CLASSES.filter((c) => counts.has(c))
      .map((c) => `${counts.get(c)} ${c}`)
      .join(", ") || "no differences"
  );
}

function verifyDetails(r: VerifyResult): string {
  const out: string[] = [];
  for (const cls of DIFFERENCE_CLASSES) {
    const ds = r.differences.filter((d) => d.class === cls);
    if (!ds.length) continue;
    out.push(`${cls} (${ds.length}):\n${list([...new Set(ds.map((d) => d.name))])}`);
    for (const why of [...new Set(ds.map((d) => d.explanation))].slice(0, 2))
      out.push(`    why: ${printable(why, 200)}`);
  }
  return out.join("\n");
}

async function verifyHere(profile: Profile, source: Source, written: string): Promise<number> {
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
    if (!source.live) p.log.warn(reportLines(r.compatibility)); // for this host, the problems are listed above already
    return EXIT.failed;
  }
  if (r.error) {
    s.error(`verify: the guest check failed: ${printable(r.error, 200)}`);
    return EXIT.failed;
  }
  const g = r.guest;
  const how = g
    ? `${g.cpuidProbes} CPUID and ${g.msrProbes} MSR probes, ${g.runs} runs, ${g.elapsedMs.toFixed(1)} ms`
    : "no guest run";
  if (r.passed) s.stop(`verify: passed (${how}; ${countsByClass(r.differences)})`);
  else s.error(`verify: FAILED (${how}; ${countsByClass(r.differences)})`);
  const details = verifyDetails(r);
  if (details) (r.passed ? p.log.info : p.log.warn)(details);
  // Suggested only when it would pass: every failing difference is the hypervisor's rewrite.
  if (!r.passed && kvmVendorModule() === "kvm_pvm" && verdict(r.differences, new Set(["hypervisor-rewrite"])))
    p.log.info(
      `this host's /dev/kvm is kvm_pvm, which rewrites guest CPUID: 'cpuprof verify ${shellWord(written)} --allow hypervisor-rewrite' accepts that`,
    );
  return r.passed ? EXIT.ok : EXIT.failed;
}

// ---------------------------------------------------------------------------------------------

/** A path as one shell word: quoted when it has anything a shell would split or expand. */
export function shellWord(path: string): string {
  return /^[\w./~@%+=:,-]+$/.test(path) ? path : `'${path.replaceAll("'", "'\\''")}'`;
}

/** Next steps that work: apply on this host only when the profile runs here, else against a capture it runs on. */
function nextSteps(profile: Profile, source: Source, written: string): string {
  const file = shellWord(written);
  const steps = [`cpuprof show ${file}`];
  if (source.live && applyProfile(profile, source.hosts[0]!).report.compatible)
    steps.push(`cpuprof apply ${file} --format kvm-cpuid2 -o cpuid.bin`);
  else {
    const i = source.hosts.findIndex((h) => applyProfile(profile, h).report.compatible);
    if (!source.live && i >= 0) steps.push(`cpuprof apply ${file} --host ${shellWord(source.labels[i]!)} --json`);
  }
  return steps.map((x) => `\n  $ ${x}`).join("");
}

/** After an incompatible result: go back to the choice of profile (the default), or write it anyway. */
async function writeAnyway(profile: Profile): Promise<boolean> {
  const choice = answer(
    await p.select({
      message: `${profile.name} does not run on every host above. What now?`,
      options: [
        { value: "back" as const, label: "Go back and choose another profile", hint: "nothing is written" },
        { value: "write" as const, label: "Write it anyway" },
      ],
      initialValue: "back" as const,
    }),
  );
  return choice === "write";
}

export async function runWizard(): Promise<number> {
  p.intro(`cpuprof ${TOOL_VERSION}: CPU profiles for KVM`);
  let written: string | undefined;
  try {
    let source: Source | undefined, chosen: Chosen | undefined;
    for (;;) {
      source ??= await chooseSource();
      chosen = await chooseProfile(source);
      if (!chosen) {
        source = undefined; // back: other hosts
        continue;
      }
      if (showDiff(chosen.profile, source, chosen.summary) || (await writeAnyway(chosen.profile))) break;
    }
    written = await writeProfile(chosen.profile);
    let code: number = EXIT.ok;
    if (existsSync(KVM_DEVICE)) {
      const verify = answer(
        await p.confirm({
          message: "Verify it on this host now (a real KVM guest, a few milliseconds)?",
          initialValue: true,
        }),
      );
      if (verify) code = await verifyHere(chosen.profile, source, written);
    } else p.log.info(`No ${KVM_DEVICE} here: on a KVM host, run 'cpuprof verify ${shellWord(written)}'`);
    // "Done." only for a run that succeeded: a failed check ends saying so, with its exit code.
    if (code === EXIT.ok) p.outro(`Done. Next: ${nextSteps(chosen.profile, source, written)}`);
    else
      p.outro(
        `${written} was written, but the check on this host failed (exit ${code}). Next: ${nextSteps(chosen.profile, source, written)}`,
      );
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
