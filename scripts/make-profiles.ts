// Writes the embedded profiles (profiles/*.json) from the real hosts in ../shared/fixtures and
// records their sha256 in profiles/profiles.lock. A released profile never changes: if a
// profile's bytes would differ from its locked hash the script refuses (publish a -v2 instead).
// Usage: bun scripts/make-profiles.ts
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { loadHostFile } from "../src/formats/host-file.ts";
import { serializeProfile } from "../src/model/profile.ts";
import { generateProfile, hostProfile } from "../src/profile/generate.ts";

const FIXTURES = resolve(import.meta.dir, "../../shared/fixtures/hosts/firecracker");
const OUT = resolve(import.meta.dir, "../profiles");
const LOCK = join(OUT, "profiles.lock");

/** Generations per vendor, oldest first: a profile runs on its own and every later one. */
const INTEL_GENERATIONS = ["Skylake", "Cascade Lake", "Ice Lake", "Sapphire Rapids", "Granite Rapids"];
const AMD_GENERATIONS = ["EPYC Milan", "EPYC Genoa"];

function runsOn(generations: readonly string[], own: string): string {
  const later = generations.slice(generations.indexOf(own) + 1);
  return later.length === 0 ? `Runs on ${own} hosts.` : `Runs on ${own} and every later generation (${later.join(", ")}).`;
}

/** The profiles, from oldest to newest per vendor, with the fixture each is generated from. */
export const EMBEDDED = [
  { name: "skylake", file: "fingerprint_INTEL_SKYLAKE_6.1host.json", title: "Intel Xeon Skylake-SP", line: runsOn(INTEL_GENERATIONS, "Skylake") },
  { name: "cascade-lake", file: "fingerprint_INTEL_CASCADELAKE_6.1host.json", title: "Intel Xeon Cascade Lake", line: runsOn(INTEL_GENERATIONS, "Cascade Lake") },
  { name: "ice-lake", file: "fingerprint_INTEL_ICELAKE_6.1host.json", title: "Intel Xeon Ice Lake-SP", line: runsOn(INTEL_GENERATIONS, "Ice Lake") },
  { name: "sapphire-rapids", file: "fingerprint_INTEL_SAPPHIRE_RAPIDS_6.1host.json", title: "Intel Xeon Sapphire Rapids", line: runsOn(INTEL_GENERATIONS, "Sapphire Rapids") },
  { name: "granite-rapids", file: "fingerprint_INTEL_GRANITE_RAPIDS_6.1host.json", title: "Intel Xeon Granite Rapids", line: runsOn(INTEL_GENERATIONS, "Granite Rapids") },
  { name: "epyc-milan", file: "fingerprint_AMD_MILAN_6.1host.json", title: "AMD EPYC Milan (Zen 3)", line: runsOn(AMD_GENERATIONS, "EPYC Milan") },
  { name: "epyc-genoa", file: "fingerprint_AMD_GENOA_6.1host.json", title: "AMD EPYC Genoa (Zen 4)", line: runsOn(AMD_GENERATIONS, "EPYC Genoa") },
] as const;

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
  for (const e of EMBEDDED) {
    const path = join(FIXTURES, e.file);
    const host = loadHostFile(readFileSync(path, "utf8"), path);
    const { profile, unknown } = generateProfile(host, { name: e.name, description: `${e.title}. ${e.line}`, strict: true });
    if (unknown.length > 0) throw new Error(`${e.name}: unknown items`);
    texts.set(e.name, serializeProfile(profile));
  }
  texts.set("host", serializeProfile({ ...hostProfile("intel"), description: HOST_DESCRIPTION }));

  const locked = existsSync(LOCK) ? parseLock(readFileSync(LOCK, "utf8")) : new Map<string, string>();
  const changed = [...texts].filter(([name, text]) => locked.has(name) && locked.get(name) !== sha256(text)).map(([n]) => n);
  if (changed.length > 0) {
    console.error(`make-profiles: released profile(s) would change: ${changed.join(", ")}; publish them under a new name (e.g. ${changed[0]}-v2)`);
    process.exit(1);
  }
  for (const [name, text] of texts) writeFileSync(join(OUT, `${name}.json`), text);
  const lock = [...texts.keys()].sort().map((n) => `${n} ${sha256(texts.get(n)!)}`).join("\n") + "\n";
  writeFileSync(LOCK, lock);
  console.log(`make-profiles: wrote ${texts.size} profiles and ${LOCK}`);
}

if (import.meta.main) main();
