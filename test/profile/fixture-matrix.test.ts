// Every embedded profile × every real host: a profile runs on its own generation and every
// later one of its vendor, and is refused elsewhere with the features that are missing.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseJsonText } from "../../src/model/document.ts";
import { parseProfile, type Profile } from "../../src/model/profile.ts";
import { checkCompatibility } from "../../src/profile/compat.ts";
import { FIXTURE_HOSTS, fixtureHost, fixturesMissing, type FixtureHostName } from "../helpers/fixtures.ts";

const DIR = resolve(import.meta.dir, "../../profiles");
const load = (name: string): Profile => parseProfile(parseJsonText(readFileSync(join(DIR, `${name}.json`), "utf8"), name), name);

const INTEL: FixtureHostName[] = ["skylake", "cascade-lake", "ice-lake", "sapphire-rapids", "granite-rapids"];
const AMD: FixtureHostName[] = ["epyc-milan", "epyc-genoa"];

/** Expected outcome: compatible, or the problem kind and names that must appear. */
type Expect = { ok: true } | { ok: false; kinds?: string[]; names: string[] };

function expected(profile: FixtureHostName, host: FixtureHostName): Expect {
  const line = INTEL.includes(profile) ? INTEL : AMD;
  if (!line.includes(host)) return { ok: false, kinds: ["vendor"], names: ["vendor"] };
  return line.indexOf(host) >= line.indexOf(profile) ? { ok: true } : { ok: false, names: [] };
}

/** The reasons that matter for the older-host cases (a few per pair, not the whole list). */
const REASONS: Partial<Record<`${FixtureHostName} on ${FixtureHostName}`, string[]>> = {
  "sapphire-rapids on skylake": ["avx512_fp16", "amx_tile", "avx512_vnni", "mds_no"],
  "sapphire-rapids on ice-lake": ["avx512_fp16", "amx_tile", "serialize", "fbsdp_no", "max_basic_leaf"],
  "granite-rapids on sapphire-rapids": ["ddpd_u", "mcdt_no", "phys_addr_bits", "pbrsb_no"],
  "ice-lake on cascade-lake": ["avx512_vbmi2", "gfni", "la57", "linear_addr_bits"],
  "cascade-lake on skylake": ["avx512_vnni", "rdcl_no", "mds_no"],
  "epyc-genoa on epyc-milan": ["avx512f", "xcr0_opmask", "phys_addr_bits"],
};

describe.skipIf(fixturesMissing !== undefined)(`profile × host matrix${fixturesMissing ? ` (skipped: ${fixturesMissing})` : ""}`, () => {
  const pairs = FIXTURE_HOSTS.flatMap((p) => FIXTURE_HOSTS.map((h) => [p.name, h.name] as const));
  test.each(pairs)("%s on %s", (p, h) => {
    const report = checkCompatibility(load(p), fixtureHost(h));
    const want = expected(p, h);
    expect(report.compatible).toBe(want.ok);
    if (!want.ok) {
      expect(report.problems.length).toBeGreaterThan(0);
      const names = report.problems.map((x) => x.name);
      for (const n of [...want.names, ...(REASONS[`${p} on ${h}`] ?? [])]) expect(names).toContain(n);
      if (want.kinds) expect(report.problems.map((x): string => x.kind)).toEqual(want.kinds);
    }
  });

  test("arch-capabilities problems are reported as such (Sapphire Rapids profile on Ice Lake lacks FBSDP_NO)", () => {
    const report = checkCompatibility(load("sapphire-rapids"), fixtureHost("ice-lake"));
    expect(report.problems.find((x) => x.name === "fbsdp_no")).toMatchObject({ kind: "arch-capabilities", msr: 0x10a, bit: 14 });
    expect(report.problems.find((x) => x.name === "avx512_fp16")).toMatchObject({ kind: "feature-missing", leaf: 7, subleaf: 0, register: "edx", bit: 23 });
  });

  test("newer Intel hosts report RRSBA; every Intel profile declares it, so none is refused for it", () => {
    for (const p of INTEL) {
      const msr = load(p).msrs.find((m) => m.index === 0x10a)!;
      expect(((msr.replacements >> 19n) & 1n) === 1n && ((msr.replacements >> 2n) & 1n) === 1n).toBe(true);
    }
  });

  test("the host profile is compatible everywhere", () => {
    for (const h of FIXTURE_HOSTS) expect(checkCompatibility(load("host"), fixtureHost(h.name)).compatible).toBe(true);
  });
});
