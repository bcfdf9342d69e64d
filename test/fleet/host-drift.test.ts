// Host drift in `cpuprof diff`: kernel, microcode and BIOS changes between two host captures
// (kept from Firecracker fingerprints on import), and --fields choosing what is compared.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DRIFT_FIELDS, hostDrift } from "../../src/fleet/host-drift.ts";
import { biosOf, parseHostCapture, serializeHost, type HostCapture } from "../../src/model/host.ts";
import { cpuprof } from "../cli/run.ts";
import { FIRECRACKER_HOSTS_DIR, fixturesMissing } from "../helpers/fixtures.ts";
import { allFixtureHosts } from "../helpers/source-hosts.ts";

const text = fc.option(fc.string({ maxLength: 12 }), { nil: null });

describe("hostDrift", () => {
  test("property: reports exactly the chosen fields that differ, none for a host against itself", () => {
    fc.assert(
      fc.property(
        text,
        text,
        text,
        text,
        text,
        text,
        fc.subarray([...DRIFT_FIELDS]),
        (k1, k2, m1, m2, b1, b2, fields) => {
          const base = { kernel: null, microcode: null, bios: null } as unknown as HostCapture;
          const a = { ...base, kernel: k1, microcode: m1, bios: b1 };
          const b = { ...base, kernel: k2, microcode: m2, bios: b2 };
          const d = hostDrift(a, b, fields);
          expect(d.map((x) => x.field)).toEqual(fields.filter((f) => a[f] !== b[f]));
          expect(hostDrift(a, a, fields)).toEqual([]);
        },
      ),
    );
  }, 30_000);

  test("a capture without a bios field (older format) is not reported as BIOS drift", () => {
    const a = { kernel: "6.1", microcode: "0x1" } as unknown as HostCapture;
    expect(hostDrift(a, { ...a, bios: "1.0" })).toEqual([]);
  }, 30_000);
});

(fixturesMissing ? describe.skip : describe)("diff between host captures", () => {
  const files = allFixtureHosts();
  const path = (f: string) => join(FIRECRACKER_HOSTS_DIR, f);

  test("Firecracker import keeps kernel, microcode and BIOS, and the capture round-trips them", () => {
    for (const { file, host } of files) {
      const fp = JSON.parse(readFileSync(path(file), "utf8"));
      expect(host.kernel).toBe(fp.kernel_version);
      expect(host.bios).toBe(biosOf(fp.bios_version, fp.bios_revision));
      const again = parseHostCapture(JSON.parse(serializeHost(host)), "x");
      expect(again.bios).toBe(host.bios);
    }
  }, 30_000);

  test("5.10 vs 6.1 of each generation: the kernel change is reported, exit 1; --fields limits the comparison", () => {
    for (const { file, host } of files.filter((f) => f.file.includes("_5.10"))) {
      const other = files.find((f) => f.file === file.replace("_5.10", "_6.1"))!;
      const expected = hostDrift(host, other.host);
      expect(expected.map((d) => d.field)).toContain("kernel");
      const j = JSON.parse(cpuprof(["diff", path(file), path(other.file), "--json"]).stdout);
      expect(j.hostDrift).toEqual(expected);
      expect(j.cpuid).toBeDefined();
      const r = cpuprof(["diff", path(file), path(other.file), "--fields", "kernel,microcode,bios"]);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(`kernel: ${host.kernel} -> ${other.host.kernel}`);
      expect(r.stdout).not.toContain("CPUID");
      // Only the CPU parts: no host drift reported, the exit code says whether the CPUs differ.
      const cpu = cpuprof(["diff", path(file), path(other.file), "--fields", "cpuid,msrs", "--json"]);
      const cpuJson = JSON.parse(cpu.stdout);
      expect(cpuJson.hostDrift).toEqual([]);
      expect(cpu.code).toBe(cpuJson.equal ? 0 : 1);
    }
  }, 60_000);

  test("a host against itself is equal (exit 0); an unknown --fields part is bad input (exit 2)", () => {
    const f = path(files[0]!.file);
    expect(cpuprof(["diff", f, f]).code).toBe(0);
    const r = cpuprof(["diff", f, f, "--fields", "cpuid,nope"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("nope");
  }, 30_000);
});
