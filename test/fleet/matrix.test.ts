import { describe, expect, test } from "bun:test";
import { baselineProfile } from "../../src/fleet/baseline-profile.ts";
import { compatibilityMatrix, type MatrixProfile } from "../../src/fleet/matrix.ts";
import { formatMatrix } from "../../src/cli/matrix-format.ts";
import { syntheticFleet } from "../../src/fleet/synthetic.ts";
import { generateProfile } from "../../src/profile/generate.ts";
import { AMD, FLEET, HAVE_FIXTURES, INTEL } from "./hosts.ts";

/** One generated profile per real host, plus the Intel and AMD fleet baselines. */
function profiles(): MatrixProfile[] {
  return [
    ...FLEET.map(({ label, host }) => ({ name: label, profile: generateProfile(host, { name: label }).profile })),
    {
      name: "intel-fleet",
      profile: baselineProfile(
        INTEL.map((x) => x.host),
        { name: "intel-fleet" },
      ).profile,
    },
    {
      name: "amd-fleet",
      profile: baselineProfile(
        AMD.map((x) => x.host),
        { name: "amd-fleet" },
      ).profile,
    },
  ];
}

const labels = (xs: readonly { label: string }[]) => xs.map((x) => x.label).sort();

describe.skipIf(!HAVE_FIXTURES)("compatibilityMatrix over the seven real hosts", () => {
  const ps = profiles();
  const m = compatibilityMatrix(FLEET, ps);
  const cell = (host: string, profile: string) => m.cells.find((c) => c.host === host && c.profile === profile)!;
  const group = (profile: string) => m.groups.find((g) => g.profile === profile)!.hosts;

  test("one cell per host and profile; each host runs its own profile", () => {
    expect(m.cells.length).toBe(FLEET.length * ps.length);
    for (const { label } of FLEET)
      expect(cell(label, label)).toEqual({ host: label, profile: label, compatible: true, missing: [] });
  });

  test("a fleet baseline groups exactly its vendor's hosts; a newer host's profile excludes older hosts and says why", () => {
    expect(group("intel-fleet")).toEqual(labels(INTEL));
    expect(group("amd-fleet")).toEqual(labels(AMD));
    const c = cell("skylake", "sapphire-rapids");
    expect(c.compatible).toBe(false);
    expect(c.missing.length).toBeGreaterThan(0);
    expect(group("sapphire-rapids")).not.toContain("skylake");
    expect(group("skylake")).not.toContain("genoa");
  });

  test("the order of hosts and profiles does not change the result or its text", () => {
    const again = compatibilityMatrix([...FLEET].reverse(), [...ps].reverse());
    expect(again).toEqual(m);
    expect(formatMatrix(again)).toBe(formatMatrix(m));
  });

  test("formatMatrix: a row per host, a column per profile, a line per group, when that fits 100 columns", () => {
    const two = compatibilityMatrix(
      FLEET,
      ps.filter((p) => p.name === "intel-fleet" || p.name === "skylake"),
    );
    const text = formatMatrix(two);
    const lines = text.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^host\s+intel-fleet\s+skylake$/);
    expect(lines.find((l) => l.startsWith("skylake "))).toMatch(/\bok\b/);
    expect(text.replace(/\s+/g, " ")).toContain(`intel-fleet: ${INTEL.length} hosts: ${labels(INTEL).join(", ")}`);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(100);
  });

  test("formatMatrix: too wide for a table, a block per profile, still within 100 columns", () => {
    const text = formatMatrix(m);
    expect(text).toContain("intel-fleet: runs on");
    expect(text.replace(/\s+/g, " ")).toContain(`ok, migration group: ${labels(INTEL).join(", ")}`);
    for (const l of text.split("\n")) expect(l.length).toBeLessThanOrEqual(100);
  });

  // Speed is measured by `bun run bench`, not asserted: these machines are shared and noisy.
  test("1,000 hosts x 8 profiles gives 8,000 cells", () => {
    const hosts = syntheticFleet(FLEET, { count: 1000, seed: 5 });
    const eight = ps.slice(0, 8);
    const t0 = performance.now();
    const big = compatibilityMatrix(hosts, eight);
    const ms = performance.now() - t0;
    console.log(`compatibilityMatrix: 1000 hosts x 8 profiles in ${ms.toFixed(1)} ms`);
    expect(big.cells.length).toBe(8000);
  });
});
