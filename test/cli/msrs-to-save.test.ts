// apply's save/restore list as a user gets it: in --json and as --format msrs-to-save.
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { parseHostCapture } from "../../src/model/host.ts";
import { cpuprof, fixtureHost, HOSTS } from "./run.ts";

const hasFixtures = existsSync(HOSTS);
if (!hasFixtures) console.log("skip: msrs-to-save CLI tests need ../shared/fixtures");
const withFixtures = hasFixtures ? test : test.skip;
const SPR = fixtureHost("INTEL_SAPPHIRE_RAPIDS");

describe("apply: msrsToSave", () => {
  withFixtures(
    "--format msrs-to-save lists the JSON's msrsToSave, one index per line, sorted, within the host's index list",
    () => {
      const list = cpuprof(["apply", "skylake", "--host", SPR, "--format", "msrs-to-save"]);
      expect(list.code).toBe(0);
      const lines = list.stdout.trimEnd().split("\n");
      expect(lines.length).toBeGreaterThan(10);
      for (const l of lines) expect(l).toMatch(/^0x[0-9a-f]+$/);
      const nums = lines.map(Number);
      expect(nums).toEqual([...nums].sort((a, b) => a - b));
      const json = JSON.parse(cpuprof(["apply", "skylake", "--host", SPR, "--json"]).stdout);
      expect(json.msrsToSave).toEqual(lines);
      const host = parseHostCapture(JSON.parse(cpuprof(["host", "--from", SPR, "--json"]).stdout), "spr");
      for (const m of nums) expect(host.msrIndexList).toContain(m);
      // the skylake profile permits fewer MSRs than the host profile saves
      const all = cpuprof(["apply", "host", "--host", SPR, "--format", "msrs-to-save"]).stdout.trimEnd().split("\n");
      expect(all.map(Number)).toEqual([...new Set(host.msrIndexList)].sort((a, b) => a - b));
      expect(lines.length).toBeLessThan(all.length);
    },
  );
});
