// The library entry point exposes the documented API and it works on plain data.
import { expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import * as cpuprof from "../src/index.ts";

const SPR = resolve(
  import.meta.dir,
  "../../shared/fixtures/hosts/firecracker/fingerprint_INTEL_SAPPHIRE_RAPIDS_6.1host.json",
);

test("the README's library example: generate, apply, check", () => {
  for (const name of [
    "applyProfile",
    "generateProfile",
    "captureLiveHost",
    "verifyProfile",
    "baselineProfile",
    "diffConfigs",
    "loadHostFile",
  ])
    expect(typeof (cpuprof as Record<string, unknown>)[name]).toBe("function");
  if (!existsSync(SPR)) return console.log("skip: the library example on a real host needs ../shared/fixtures");
  const host = cpuprof.loadHostFile(readFileSync(SPR, "utf8"), SPR);
  const skylake = cpuprof.embeddedProfile("skylake")!;
  const config = cpuprof.applyProfile(skylake, host, { vcpuId: 0, vcpuCount: 2 });
  expect(config.report.compatible).toBe(true);
  expect(config.cpuid.length).toBeGreaterThan(10);
  expect(config.msrFilter!.ranges.length).toBeGreaterThan(0);
  const { profile } = cpuprof.generateProfile(host, { name: "spr-lab" });
  expect(cpuprof.checkCompatibility(profile, host).compatible).toBe(true);
});
