// `cpuprof labels` on every fixture host names exactly the profiles `cpuprof matrix` marks ok,
// in NFD's features.d format (name=value lines, valid Kubernetes label keys and values).
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { embeddedProfile, embeddedProfileNames } from "../../src/embedded/profiles.ts";
import { formatFeatureFile, nodeLabels } from "../../src/fleet/labels.ts";
import { cpuprof } from "../cli/run.ts";
import { FIRECRACKER_HOSTS_DIR, fixturesMissing } from "../helpers/fixtures.ts";
import { allFixtureHosts } from "../helpers/source-hosts.ts";

// Kubernetes label key (optional DNS-subdomain prefix, name of at most 63) and value syntax.
const LABEL_LINE =
  /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?=([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

if (fixturesMissing) console.log(`labels: skipped, ${fixturesMissing}`);

(fixturesMissing ? describe.skip : describe)("labels", () => {
  test("on every fixture host: exactly the profiles matrix marks ok, and the vendor", () => {
    const files = allFixtureHosts().map((h) => join(FIRECRACKER_HOSTS_DIR, h.file));
    const m = JSON.parse(cpuprof(["matrix", "--json", ...files]).stdout) as {
      cells: { host: string; profile: string; compatible: boolean }[];
    };
    for (const { file, host } of allFixtureHosts()) {
      const r = cpuprof(["labels", "--host", join(FIRECRACKER_HOSTS_DIR, file)]);
      expect(r.code).toBe(0);
      const lines = r.stdout.trim().split("\n");
      for (const l of lines) expect(l).toMatch(LABEL_LINE);
      const labelled = lines
        .filter((l) => l.startsWith("cpuprof.io/profile."))
        .map((l) => l.slice("cpuprof.io/profile.".length).replace(/=true$/, ""));
      const ok = m.cells.filter((c) => c.host === file.replace(/\.json$/, "") && c.compatible).map((c) => c.profile);
      expect({ file, labelled: labelled.sort() }).toEqual({ file, labelled: ok.sort() });
      expect(lines).toContain(`cpuprof.io/vendor=${host.vendor}`);
    }
  }, 60_000);

  test("given profiles only; -o writes the feature file; --json", () => {
    const file = join(FIRECRACKER_HOSTS_DIR, "fingerprint_INTEL_SAPPHIRE_RAPIDS_6.1host.json");
    const dir = mkdtempSync(join(tmpdir(), "cpuprof-labels-"));
    try {
      const r = cpuprof(["labels", "skylake", "epyc-milan", "--host", file, "-o", join(dir, "cpuprof")]);
      expect(r.code).toBe(0);
      const text = readFileSync(join(dir, "cpuprof"), "utf8");
      const host = allFixtureHosts().find((h) => h.file.startsWith("fingerprint_INTEL_SAPPHIRE_RAPIDS_6.1"))!.host;
      expect(text).toBe(
        formatFeatureFile(nodeLabels(host, [embeddedProfile("skylake")!, embeddedProfile("epyc-milan")!])),
      );
      expect(text).not.toContain("epyc-milan");
      const j = JSON.parse(cpuprof(["labels", "--json", "--host", file]).stdout);
      expect(j["cpuprof.io/vendor"]).toBe("intel");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  test("property: a profile is labelled iff it is compatible, whatever subset and order is given", () => {
    const hosts = allFixtureHosts();
    const names = embeddedProfileNames();
    fc.assert(
      fc.property(fc.integer({ min: 0, max: hosts.length - 1 }), fc.shuffledSubarray(names), (i, subset) => {
        const l = nodeLabels(
          hosts[i]!.host,
          subset.map((n) => embeddedProfile(n)!),
        );
        const labelled = new Set(
          l.labels.filter((x) => x.name.startsWith("cpuprof.io/profile.")).map((x) => x.name.slice(19)),
        );
        const all = nodeLabels(
          hosts[i]!.host,
          names.map((n) => embeddedProfile(n)!),
        );
        const allLabelled = new Set(all.labels.map((x) => x.name.slice(19)));
        for (const n of subset) expect(labelled.has(n)).toBe(allLabelled.has(n));
        expect(labelled.size).toBeLessThanOrEqual(subset.length);
      }),
      { numRuns: 30 },
    );
  }, 30_000);
});
