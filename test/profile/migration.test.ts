import { describe, expect, test } from "bun:test";
import { embeddedProfile, embeddedProfileNames } from "../../src/embedded/profiles.ts";
import { applyProfile } from "../../src/profile/apply.ts";
import { checkMigration } from "../../src/profile/migration.ts";
import { generateProfile } from "../../src/profile/generate.ts";
import { allFixtureHosts, fixturesMissing } from "../helpers/fixtures.ts";

const fixtureTest = fixturesMissing ? test.skip : test;
if (fixturesMissing) console.log(`skip: migration over fixture hosts: ${fixturesMissing}`);

const profiles = () =>
  embeddedProfileNames()
    .map((n) => embeddedProfile(n)!)
    .filter((p) => p.kind !== "host");

describe("check-migration agrees with apply", () => {
  fixtureTest(
    "under every embedded profile, every fixture pair in both directions: safe exactly when the profile applies to both hosts",
    () => {
      const hosts = allFixtureHosts();
      let safe = 0,
        checked = 0;
      for (const p of profiles())
        for (const a of hosts)
          for (const b of hosts) {
            const both = applyProfile(p, a.host).report.compatible && applyProfile(p, b.host).report.compatible;
            const r = checkMigration(a.host, b.host, p);
            expect({ profile: p.name, from: a.label, to: b.label, safe: r.compatible }).toEqual({
              profile: p.name,
              from: a.label,
              to: b.label,
              safe: both,
            });
            if (!r.compatible) expect(r.problems.length).toBeGreaterThan(0);
            safe += Number(both);
            checked++;
          }
      expect(checked).toBe(profiles().length * hosts.length ** 2);
      expect(safe).toBeGreaterThan(0);
    },
  );

  fixtureTest(
    "a problem names the host it fails on: cascade-lake from Cascade Lake to Skylake fails on the destination only",
    () => {
      const hosts = allFixtureHosts();
      const clx = hosts.find((h) => h.label === "cascade-lake-6.1")!.host;
      const skl = hosts.find((h) => h.label === "skylake-6.1")!.host;
      const r = checkMigration(clx, skl, embeddedProfile("cascade-lake")!);
      expect(r.compatible).toBe(false);
      expect(new Set(r.problems.map((p) => p.side))).toEqual(new Set(["destination"]));
      expect(
        checkMigration(skl, clx, embeddedProfile("cascade-lake")!).problems.every((p) => p.side === "source"),
      ).toBe(true);
    },
  );

  fixtureTest(
    "without a profile: a host to itself is safe, and a safe move keeps every embedded profile that applied on the source applicable",
    () => {
      const hosts = allFixtureHosts();
      for (const a of hosts) {
        expect({ host: a.label, problems: checkMigration(a.host, a.host).problems }).toEqual({
          host: a.label,
          problems: [],
        });
        const own = generateProfile(a.host, { name: "own" }).profile;
        expect({ host: a.label, problems: checkMigration(a.host, a.host, own).problems }).toEqual({
          host: a.label,
          problems: [],
        });
        for (const b of hosts) {
          if (!checkMigration(a.host, b.host).compatible) continue;
          for (const p of profiles())
            if (applyProfile(p, a.host).report.compatible)
              expect({
                profile: p.name,
                from: a.label,
                to: b.label,
                ok: applyProfile(p, b.host).report.compatible,
              }).toEqual({ profile: p.name, from: a.label, to: b.label, ok: true });
        }
      }
    },
  );

  fixtureTest(
    "without a profile, a newer generation's guest cannot move to an older host, naming what it would lose",
    () => {
      const hosts = allFixtureHosts();
      const spr = hosts.find((h) => h.label === "sapphire-rapids-6.1")!.host;
      const skl = hosts.find((h) => h.label === "skylake-6.1")!.host;
      const r = checkMigration(spr, skl);
      expect(r.compatible).toBe(false);
      const names = r.problems.map((p) => p.name);
      for (const n of ["avx512_fp16", "amx_tile", "serialize", "max_basic_leaf"]) expect(names).toContain(n);
      expect(r.problems.every((p) => p.side === "destination")).toBe(true);
    },
  );

  fixtureTest("Intel to AMD is refused once, as a vendor problem", () => {
    const hosts = allFixtureHosts();
    const skl = hosts.find((h) => h.label === "skylake-6.1")!.host;
    const genoa = hosts.find((h) => h.label === "epyc-genoa-6.1")!.host;
    for (const r of [checkMigration(skl, genoa), checkMigration(skl, genoa, embeddedProfile("skylake")!)])
      expect(r.problems.filter((p) => p.kind === "vendor").length).toBe(1);
  });
});
