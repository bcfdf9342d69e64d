// Every embedded profile × every real capture (each generation on kernels 5.10 and 6.1): a profile runs on its
// own generation from 5.10 on and on every later generation of its vendor, and nowhere else, with a named reason.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseJsonText } from "../../src/model/document.ts";
import { parseProfile, type Profile } from "../../src/model/profile.ts";
import { checkCompatibility } from "../../src/profile/compat.ts";
import { ALL_FIXTURE_HOSTS, allFixtureHosts, fixturesMissing } from "../helpers/fixtures.ts";

const DIR = resolve(import.meta.dir, "../../profiles");
const load = (name: string): Profile =>
  parseProfile(parseJsonText(readFileSync(join(DIR, `${name}.json`), "utf8"), name), name);

const INTEL = ["skylake", "cascade-lake", "ice-lake", "sapphire-rapids", "granite-rapids"];
const AMD = ["epyc-milan", "epyc-genoa"];
const PROFILES = [...INTEL, ...AMD];

/** Expected outcome: compatible, or the problem kind and names that must appear. */
type Expect = { ok: true } | { ok: false; kinds?: string[]; names: string[] };

function expected(profile: string, hostGeneration: string): Expect {
  const line = INTEL.includes(profile) ? INTEL : AMD;
  if (!line.includes(hostGeneration)) return { ok: false, kinds: ["vendor"], names: ["vendor"] };
  return line.indexOf(hostGeneration) >= line.indexOf(profile) ? { ok: true } : { ok: false, names: [] };
}

/** The reasons that matter for the older-host cases (a few per pair, on both kernels). */
const REASONS: Record<string, string[]> = {
  // AMX and AVX512-FP16 are not in sapphire-rapids: the 5.10 captures of Sapphire Rapids lack them.
  "sapphire-rapids on skylake": ["serialize", "avx512_vnni", "mds_no", "max_basic_leaf"],
  "sapphire-rapids on ice-lake": ["serialize", "fbsdp_no", "max_basic_leaf"],
  "granite-rapids on sapphire-rapids": ["phys_addr_bits", "pbrsb_no"],
  "ice-lake on cascade-lake": ["avx512_vbmi2", "gfni", "la57", "virt_addr_bits"],
  "cascade-lake on skylake": ["avx512_vnni", "rdcl_no", "mds_no"],
  "epyc-genoa on epyc-milan": ["avx512f", "xcr0_opmask", "phys_addr_bits"],
};

describe.skipIf(fixturesMissing !== undefined)(
  `profile × capture matrix${fixturesMissing ? ` (skipped: ${fixturesMissing})` : ""}`,
  () => {
    const pairs = PROFILES.flatMap((p) => ALL_FIXTURE_HOSTS.map((h) => [p, h.label] as const));
    test.each(pairs)("%s on %s", (p, label) => {
      const h = allFixtureHosts().find((x) => x.label === label)!;
      const report = checkCompatibility(load(p), h.host);
      const want = expected(p, h.generation);
      expect(report.compatible).toBe(want.ok);
      if (!want.ok) {
        expect(report.problems.length).toBeGreaterThan(0);
        const names = report.problems.map((x) => x.name);
        for (const n of [...want.names, ...(REASONS[`${p} on ${h.generation}`] ?? [])]) expect(names).toContain(n);
        if (want.kinds) expect(report.problems.map((x): string => x.kind)).toEqual(want.kinds);
      }
    });

    test("arch-capabilities problems are reported as such (Sapphire Rapids profile on Ice Lake lacks FBSDP_NO)", () => {
      const icx = allFixtureHosts().find((x) => x.label === "ice-lake-6.1")!.host;
      const report = checkCompatibility(load("sapphire-rapids"), icx);
      expect(report.problems.find((x) => x.name === "fbsdp_no")).toMatchObject({
        kind: "arch-capabilities",
        msr: 0x10a,
        bit: 14,
      });
      expect(report.problems.find((x) => x.name === "serialize")).toMatchObject({
        kind: "feature-missing",
        leaf: 7,
        subleaf: 0,
        register: "edx",
        bit: 14,
      });
    });

    test("newer Intel hosts report RRSBA; every Intel profile declares it, so none is refused for it", () => {
      for (const p of INTEL) {
        const msr = load(p).msrs.find((m) => m.index === 0x10a)!;
        expect(((msr.replacements >> 19n) & 1n) === 1n && ((msr.replacements >> 2n) & 1n) === 1n).toBe(true);
      }
    });

    test("ITS_NO: kept where every host the profile runs on reports it (Sapphire and Granite Rapids), dropped where a later generation lacks it (Skylake)", () => {
      const itsNo = (p: string) => ((load(p).msrs.find((m) => m.index === 0x10a)!.replacements >> 62n) & 1n) === 1n;
      expect(itsNo("sapphire-rapids")).toBe(true);
      expect(itsNo("granite-rapids")).toBe(true);
      expect(itsNo("skylake")).toBe(false);
      expect(itsNo("ice-lake")).toBe(false);
    });

    test("AMD profiles use AMD's speculation-control bits, never Intel's 7.0 EDX ones", () => {
      for (const p of AMD) {
        const edx =
          load(p).cpuid.find((a) => a.leaf === 7 && a.register === "edx" && a.subleaf.start === 0)?.replacements ?? 0;
        for (const bit of [26, 27, 28, 31]) expect({ p, bit, set: (edx >>> bit) & 1 }).toEqual({ p, bit, set: 0 });
        const ebx = load(p).cpuid.find((a) => a.leaf === 0x80000008 && a.register === "ebx")!.replacements;
        expect((ebx >>> 14) & 1).toBe(1); // amd_ibrs
      }
    });

    test("every profile's description states the kernel range", () => {
      for (const p of PROFILES) expect(load(p).description).toContain("from Linux 5.10 on");
    });

    test("the host profile is compatible everywhere", () => {
      for (const h of allFixtureHosts()) expect(checkCompatibility(load("host"), h.host).compatible).toBe(true);
    });
  },
);
