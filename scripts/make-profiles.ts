// Writes the embedded profiles (profiles/*.json) from the real hosts in ../shared/fixtures and
// records their sha256 in profiles/profiles.lock. A released profile never changes: if a
// profile's bytes would differ from its locked hash the script refuses (publish a -v2 instead).
// Usage: bun scripts/make-profiles.ts
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { loadHostFile } from "../src/formats/host-file.ts";
import { serializeProfile } from "../src/model/profile.ts";
import { baselineProfile } from "../src/fleet/baseline-profile.ts";
import { hostProfile } from "../src/profile/generate.ts";

const FIXTURES = resolve(import.meta.dir, "../../shared/fixtures/hosts/firecracker");
const OUT = resolve(import.meta.dir, "../profiles");
const LOCK = join(OUT, "profiles.lock");

/** Generations per vendor, oldest first, with their fixture tags: a profile runs on its own and every later one. */
const INTEL_GENERATIONS = [
  { title: "Skylake", tag: "INTEL_SKYLAKE" },
  { title: "Cascade Lake", tag: "INTEL_CASCADELAKE" },
  { title: "Ice Lake", tag: "INTEL_ICELAKE" },
  { title: "Sapphire Rapids", tag: "INTEL_SAPPHIRE_RAPIDS" },
  { title: "Granite Rapids", tag: "INTEL_GRANITE_RAPIDS" },
];
const AMD_GENERATIONS = [
  { title: "EPYC Milan", tag: "AMD_MILAN" },
  { title: "EPYC Genoa", tag: "AMD_GENOA" },
];
/** The kernels of the fixture captures, oldest first: a profile must run from the oldest on. */
export const KERNELS = ["5.10", "6.1"] as const;

const captureFile = (tag: string, kernel: string) => `fingerprint_${tag}_${kernel}host.json`;

/**
 * A profile is the baseline of every capture it promises to run on: its own generation and every later one,
 * on every kernel. So a feature a later generation or an older kernel lacks (ITS_NO on Cascade Lake, PSFD on
 * 5.10) never reaches it. Identity (family, model, brand) is its own generation's newest capture.
 */
function embedded(name: string, title: string, generations: readonly { title: string; tag: string }[], own: string) {
  const from = generations.findIndex((g) => g.title === own);
  const covered = generations.slice(from);
  const later = covered.slice(1).map((g) => g.title);
  const runs =
    later.length === 0 ? `Runs on ${own} hosts` : `Runs on ${own} and every later generation (${later.join(", ")})`;
  return {
    name,
    files: covered.flatMap((g) => KERNELS.map((k) => captureFile(g.tag, k))),
    representative: captureFile(generations[from]!.tag, KERNELS[KERNELS.length - 1]!),
    description: `${title}. ${runs}, with KVM from Linux ${KERNELS[0]} on. Built as the baseline of the ${covered.length * KERNELS.length} captures of those generations on kernels ${KERNELS.join(" and ")}.`,
  };
}

/** The profiles, from oldest to newest per vendor. */
export const EMBEDDED = [
  embedded("skylake", "Intel Xeon Skylake-SP", INTEL_GENERATIONS, "Skylake"),
  embedded("cascade-lake", "Intel Xeon Cascade Lake", INTEL_GENERATIONS, "Cascade Lake"),
  embedded("ice-lake", "Intel Xeon Ice Lake-SP", INTEL_GENERATIONS, "Ice Lake"),
  embedded("sapphire-rapids", "Intel Xeon Sapphire Rapids", INTEL_GENERATIONS, "Sapphire Rapids"),
  embedded("granite-rapids", "Intel Xeon Granite Rapids", INTEL_GENERATIONS, "Granite Rapids"),
  embedded("epyc-milan", "AMD EPYC Milan (Zen 3)", AMD_GENERATIONS, "EPYC Milan"),
  embedded("epyc-genoa", "AMD EPYC Genoa (Zen 4)", AMD_GENERATIONS, "EPYC Genoa"),
];

/** The serialised profile of one EMBEDDED entry, from the captures in `fixtures` (strict: the policy must know everything). */
export function embeddedProfileText(e: (typeof EMBEDDED)[number], fixtures: string): string {
  const hosts = e.files.map((f) => loadHostFile(readFileSync(join(fixtures, f), "utf8"), f));
  const { profile, unknown } = baselineProfile(hosts, {
    name: e.name,
    description: e.description,
    strict: true,
    labels: e.files,
    representative: e.files.indexOf(e.representative),
  });
  if (unknown.length > 0) throw new Error(`${e.name}: unknown items`);
  return serializeProfile(profile);
}

const HOST_DESCRIPTION =
  "The host's own CPU, unchanged: no CPUID or MSR adjustments, no MSR filter; not migratable. " +
  "The vendor field is a placeholder (intel) because every profile names one: it is ignored for a host profile.";

export const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

export function parseLock(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^([a-z0-9-]+) ([0-9a-f]{64})$/.exec(line.trim());
    if (m) out.set(m[1]!, m[2]!);
  }
  return out;
}

function main(): void {
  if (!existsSync(FIXTURES)) {
    console.error(`make-profiles: fixtures not found at ${FIXTURES}`);
    process.exit(3);
  }
  const texts = new Map<string, string>();
  for (const e of EMBEDDED) texts.set(e.name, embeddedProfileText(e, FIXTURES));
  texts.set("host", serializeProfile({ ...hostProfile("intel"), description: HOST_DESCRIPTION }));

  const locked = existsSync(LOCK) ? parseLock(readFileSync(LOCK, "utf8")) : new Map<string, string>();
  const changed = [...texts]
    .filter(([name, text]) => locked.has(name) && locked.get(name) !== sha256(text))
    .map(([n]) => n);
  // Before 1.0 a released profile may be replaced in place (--replace, with the reason in the README); from 1.0 on, never.
  if (changed.length > 0 && !process.argv.includes("--replace")) {
    console.error(
      `make-profiles: released profile(s) would change: ${changed.join(", ")}; publish them under a new name (e.g. ${changed[0]}-v2)`,
    );
    process.exit(1);
  }
  for (const [name, text] of texts) writeFileSync(join(OUT, `${name}.json`), text);
  const lock = `${[...texts.keys()]
    .sort()
    .map((n) => `${n} ${sha256(texts.get(n)!)}`)
    .join("\n")}\n`;
  writeFileSync(LOCK, lock);
  console.log(`make-profiles: wrote ${texts.size} profiles and ${LOCK}`);
}

if (import.meta.main) main();
