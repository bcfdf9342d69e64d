// Locates the shared fixtures (../shared/fixtures next to the repository) and loads the seven
// real Firecracker fingerprint hosts. Tests skip with a one-line reason when they are absent.
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { loadHostFile } from "../../src/formats/host-file.ts";
import type { HostCapture } from "../../src/model/host.ts";

export const FIXTURES_DIR = resolve(import.meta.dir, "../../../shared/fixtures");
export const FIRECRACKER_HOSTS_DIR = join(FIXTURES_DIR, "hosts/firecracker");

/** The hosts in generation order per vendor, named as the embedded profiles are. */
export const FIXTURE_HOSTS = [
  { name: "skylake", file: "fingerprint_INTEL_SKYLAKE_6.1host.json" },
  { name: "cascade-lake", file: "fingerprint_INTEL_CASCADELAKE_6.1host.json" },
  { name: "ice-lake", file: "fingerprint_INTEL_ICELAKE_6.1host.json" },
  { name: "sapphire-rapids", file: "fingerprint_INTEL_SAPPHIRE_RAPIDS_6.1host.json" },
  { name: "granite-rapids", file: "fingerprint_INTEL_GRANITE_RAPIDS_6.1host.json" },
  { name: "epyc-milan", file: "fingerprint_AMD_MILAN_6.1host.json" },
  { name: "epyc-genoa", file: "fingerprint_AMD_GENOA_6.1host.json" },
] as const;

export type FixtureHostName = (typeof FIXTURE_HOSTS)[number]["name"];

/** Why fixture tests are skipped, or undefined when the fixtures are there. */
export const fixturesMissing: string | undefined = FIXTURE_HOSTS.every((h) =>
  existsSync(join(FIRECRACKER_HOSTS_DIR, h.file)),
)
  ? undefined
  : `fixtures not found at ${FIRECRACKER_HOSTS_DIR}`;

let cache: Map<FixtureHostName, HostCapture> | undefined;

/** The seven hosts by name (loaded once). Call only when fixturesMissing is undefined. */
export function fixtureHosts(): Map<FixtureHostName, HostCapture> {
  if (!cache) {
    cache = new Map();
    for (const h of FIXTURE_HOSTS) {
      const path = join(FIRECRACKER_HOSTS_DIR, h.file);
      cache.set(h.name, loadHostFile(readFileSync(path, "utf8"), path));
    }
  }
  return cache;
}

export function fixtureHost(name: FixtureHostName): HostCapture {
  const h = fixtureHosts().get(name);
  if (!h) throw new Error(`no fixture host ${name}`);
  return h;
}

/** Every fixture capture: each generation on kernels 5.10 and 6.1, oldest generation first per vendor. */
export const ALL_FIXTURE_HOSTS = [
  ["skylake", "SKYLAKE"],
  ["cascade-lake", "CASCADELAKE"],
  ["ice-lake", "ICELAKE"],
  ["sapphire-rapids", "SAPPHIRE_RAPIDS"],
  ["granite-rapids", "GRANITE_RAPIDS"],
  ["epyc-milan", "MILAN"],
  ["epyc-genoa", "GENOA"],
].flatMap(([generation, tag]) =>
  ["5.10", "6.1"].map((kernel) => ({
    generation: generation!,
    kernel,
    label: `${generation}-${kernel}`,
    file: `fingerprint_${tag!.startsWith("MILAN") || tag!.startsWith("GENOA") ? "AMD" : "INTEL"}_${tag}_${kernel}host.json`,
  })),
);

let allCache: { generation: string; kernel: string; label: string; host: HostCapture }[] | undefined;

/** The 14 captures, loaded once. Call only when fixturesMissing is undefined. */
export function allFixtureHosts(): { generation: string; kernel: string; label: string; host: HostCapture }[] {
  allCache ??= ALL_FIXTURE_HOSTS.map((h) => {
    const path = join(FIRECRACKER_HOSTS_DIR, h.file);
    return {
      generation: h.generation,
      kernel: h.kernel,
      label: h.label,
      host: loadHostFile(readFileSync(path, "utf8"), path),
    };
  });
  return allCache;
}
