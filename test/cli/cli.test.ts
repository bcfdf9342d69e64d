// The commands as a user runs them: exit codes, one-line errors, files written or not.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { commands } from "../../src/cli/commands/index.ts";
import { decodeCpuid2, decodeMsrFilter, decodeMsrs } from "../../src/kvm/layout.ts";
import { parseProfile } from "../../src/model/profile.ts";
import { parseHostCapture } from "../../src/model/host.ts";
import { cpuprof, fixtureHost, HOSTS } from "./run.ts";

const hasFixtures = existsSync(HOSTS);
const hasKvm = existsSync("/dev/kvm");
if (!hasFixtures) console.log("skip: fixture-based CLI tests need ../shared/fixtures");
if (!hasKvm) console.log("skip: live-host CLI tests need /dev/kvm");
const SKL = fixtureHost("INTEL_SKYLAKE");
const SPR = fixtureHost("INTEL_SAPPHIRE_RAPIDS");
const tmp = () => mkdtempSync(join(tmpdir(), "cpuprof-cli-"));

function oneLineError(r: { stderr: string }): void {
  const lines = r.stderr.trimEnd().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toStartWith("cpuprof: ");
  expect(r.stderr).not.toContain("    at ");
}

describe("global", () => {
  test("--version prints the version", () => {
    const r = cpuprof(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^cpuprof \d+\.\d+\.\d+\n$/);
  });
  test("--help lists every command and the exit codes", () => {
    const r = cpuprof(["--help"]);
    expect(r.code).toBe(0);
    for (const c of commands) expect(r.stdout).toContain(`  ${c.name} `);
    expect(r.stdout).toContain("Exit codes:");
  });
  test("no arguments outside a terminal prints help on stderr and exits 2", () => {
    const r = cpuprof([]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Usage: cpuprof COMMAND");
  });
  test("an unknown command is bad input", () => {
    const r = cpuprof(["frobnicate"]);
    expect(r.code).toBe(2);
    oneLineError(r);
  });
  for (const c of commands)
    test(`${c.name} --help shows its usage and exit codes`, () => {
      const r = cpuprof([c.name, "--help"]);
      expect(r.code).toBe(0);
      expect(r.stdout).toStartWith(`Usage: cpuprof ${c.name}`);
      expect(r.stdout).toContain("Exit codes:");
    });
  test("an unknown option is one line and exit 2", () => {
    const r = cpuprof(["list", "--frob"]);
    expect(r.code).toBe(2);
    oneLineError(r);
    expect(r.stderr).toContain("--frob");
  });
});

describe("list and show", () => {
  test("list names every embedded profile; --json is machine-readable", () => {
    const r = cpuprof(["list", "--json"]);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as { name: string; compressedBytes: number }[];
    expect(rows.map((x) => x.name)).toEqual([
      "cascade-lake",
      "epyc-genoa",
      "epyc-milan",
      "granite-rapids",
      "host",
      "ice-lake",
      "sapphire-rapids",
      "skylake",
    ]);
    for (const row of rows) expect(row.compressedBytes).toBeGreaterThan(0);
  });
  test("show speaks feature names; --json is the profile itself", () => {
    const r = cpuprof(["show", "sapphire-rapids"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("serialize");
    expect(r.stdout).toContain("avx512_bf16");
    const j = cpuprof(["show", "skylake", "--json"]);
    expect(parseProfile(JSON.parse(j.stdout), "show").name).toBe("skylake");
  });
  test("an unknown profile is one line naming it, exit 2", () => {
    const r = cpuprof(["show", "no-such-profile"]);
    expect(r.code).toBe(2);
    oneLineError(r);
    expect(r.stderr).toContain("no-such-profile");
  });
  test("a broken profile file names the file and the JSON path", () => {
    const dir = tmp();
    const file = join(dir, "bad.json");
    const good = JSON.parse(cpuprof(["show", "skylake", "--json"]).stdout);
    good.cpuid[2].mask = "0xZZ";
    writeFileSync(file, JSON.stringify(good));
    const r = cpuprof(["show", file]);
    expect(r.code).toBe(2);
    oneLineError(r);
    expect(r.stderr).toContain(file);
    expect(r.stderr).toContain("$.cpuid[2].mask");
  });
});

describe.skipIf(!hasFixtures)("with the fixture hosts", () => {
  test("host --from imports a Firecracker fingerprint into the capture format", () => {
    const r = cpuprof(["host", "--from", SKL, "--json"]);
    expect(r.code).toBe(0);
    const h = parseHostCapture(JSON.parse(r.stdout), "stdout");
    expect(h.source).toBe("firecracker-fingerprint");
    expect([h.vendor, h.family, h.model]).toEqual(["intel", 6, 85]);
  });
  test("generate is deterministic: the same capture gives byte-identical profiles", () => {
    const a = cpuprof(["generate", "--host", SPR, "--name", "lab"]);
    const b = cpuprof(["generate", "--host", SPR, "--name", "lab"]);
    expect(a.code).toBe(0);
    expect(a.stdout).toBe(b.stdout);
    expect(parseProfile(JSON.parse(a.stdout), "stdout").name).toBe("lab");
  });
  test("generate -o writes the file and prints the summary in names", () => {
    const out = join(tmp(), "p.json");
    const r = cpuprof(["generate", "--host", SKL, "--name", "skl-lab", "-o", out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("kept (");
    expect(r.stdout).toContain("avx512f");
    expect(parseProfile(JSON.parse(readFileSync(out, "utf8")), out).name).toBe("skl-lab");
  });
  test("apply: an incompatible profile exits 1, names missing features on stderr, writes nothing", () => {
    const out = join(tmp(), "cpuid.bin");
    const r = cpuprof(["apply", "sapphire-rapids", "--host", SKL, "--format", "kvm-cpuid2", "-o", out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("serialize");
    expect(r.stderr).toContain("avx512_bf16");
    expect(existsSync(out)).toBe(false);
  });
  test("apply: a compatible profile gives binary structs that decode", () => {
    const cpuid = cpuprof(["apply", "skylake", "--host", SPR, "--format", "kvm-cpuid2"]);
    expect(cpuid.code).toBe(0);
    const entries = decodeCpuid2(cpuid.bytes);
    expect(entries.length).toBeGreaterThan(10);
    expect(entries[0]!.function).toBe(0);
    const msrs = decodeMsrs(cpuprof(["apply", "skylake", "--host", SPR, "--format", "kvm-msrs"]).bytes);
    expect(msrs.some((m) => m.index === 0x10a)).toBe(true);
    const filter = decodeMsrFilter(cpuprof(["apply", "skylake", "--host", SPR, "--format", "msr-filter"]).bytes);
    expect(filter.ranges.length).toBeGreaterThan(0);
    expect(filter.ranges.length).toBeLessThanOrEqual(16);
  });
  test("apply --vcpu-id/--vcpus set the APIC id and logical count in leaf 1", () => {
    const r = cpuprof(["apply", "skylake", "--host", SPR, "--vcpu-id", "3", "--vcpus", "8", "--format", "kvm-cpuid2"]);
    const leaf1 = decodeCpuid2(r.bytes).find((e) => e.function === 1)!;
    expect(leaf1.ebx >>> 24).toBe(3);
    expect((leaf1.ebx >>> 16) & 0xff).toBe(8);
  });
  test("apply --msr-filter off leaves the filter out of the JSON", () => {
    const r = cpuprof(["apply", "skylake", "--host", SPR, "--json", "--msr-filter", "off"]);
    expect(JSON.parse(r.stdout).msrFilter).toBeNull();
    const on = cpuprof(["apply", "skylake", "--host", SPR, "--json"]);
    expect(JSON.parse(on.stdout).msrFilter.ranges.length).toBeGreaterThan(0);
  });
  test("apply --vcpus out of range is bad input", () => {
    const r = cpuprof(["apply", "skylake", "--host", SPR, "--vcpus", "0"]);
    expect(r.code).toBe(2);
    oneLineError(r);
  });
  test("check-migration checks the profile against both hosts: cascade-lake from Cascade Lake to Skylake is not safe, as apply says", () => {
    const CLX = fixtureHost("INTEL_CASCADELAKE");
    expect(cpuprof(["apply", "cascade-lake", "--host", SKL]).code).toBe(1);
    const r = cpuprof(["check-migration", "--from", CLX, "--to", SKL, "--profile", "cascade-lake"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("NOT SAFE");
    expect(r.stdout).toContain("destination: feature-missing: avx512_vnni");
    const j = JSON.parse(
      cpuprof(["check-migration", "--from", CLX, "--to", SKL, "--profile", "cascade-lake", "--json"]).stdout,
    );
    expect(j.safe).toBe(false);
    expect(j.problems[0].side).toBe("destination");
  });
  test("apply refuses a profile file that advertises tsc_deadline_timer but denies 0x6e0 (exit 2, one line naming both)", () => {
    const p = JSON.parse(cpuprof(["show", "skylake", "--json"]).stdout);
    p.name = "unsafe";
    p.permittedMsrs = p.permittedMsrs.filter((m: string) => m !== "0x6e0");
    const file = join(tmp(), "unsafe.json");
    writeFileSync(file, JSON.stringify(p));
    const r = cpuprof(["apply", file, "--host", SKL]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("tsc_deadline_timer");
    expect(r.stderr).toContain("0x6e0");
    oneLineError(r);
  });
  test("check-migration: Skylake -> SPR under skylake is safe, SPR -> Skylake without a profile is not", () => {
    expect(cpuprof(["check-migration", "--from", SKL, "--to", SPR, "--profile", "skylake"]).code).toBe(0);
    const bad = cpuprof(["check-migration", "--from", SPR, "--to", SKL]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain("avx512_fp16");
  });
  test("diff: a thing equals itself (0); Skylake vs SPR differ (1) in names", () => {
    expect(cpuprof(["diff", "skylake", "skylake"]).code).toBe(0);
    const r = cpuprof(["diff", SKL, SPR]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("avx512_fp16");
  });
  test("baseline: input order does not change a byte; mixed vendors are refused", () => {
    const all = ["INTEL_SKYLAKE", "INTEL_ICELAKE", "INTEL_SAPPHIRE_RAPIDS"].map(fixtureHost);
    const a = cpuprof(["baseline", ...all, "--name", "fleet"]);
    const b = cpuprof(["baseline", ...[...all].reverse(), "--name", "fleet"]);
    expect(a.code).toBe(0);
    expect(a.stdout).toBe(b.stdout);
    const mixed = cpuprof(["baseline", SKL, fixtureHost("AMD_MILAN"), "--name", "x"]);
    expect(mixed.code).toBe(2);
    oneLineError(mixed);
    expect(mixed.stderr).toContain("vendor");
  });
  test("matrix: every fixture host against the embedded profiles, with migration groups", () => {
    const r = cpuprof(["matrix", SKL, SPR, "--json"]);
    expect(r.code).toBe(1); // not every host runs every embedded profile
    const m = JSON.parse(r.stdout) as { groups: { profile: string; hosts: string[] }[] };
    expect(m.groups.find((g) => g.profile === "skylake")!.hosts).toHaveLength(2);
    expect(m.groups.find((g) => g.profile === "sapphire-rapids")!.hosts).toHaveLength(1);
  });
  test("verify --host FILE checks compatibility only and exits by it", () => {
    expect(cpuprof(["verify", "skylake", "--host", SPR]).code).toBe(0);
    const r = cpuprof(["verify", "sapphire-rapids", "--host", SKL, "--json"]);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout);
    expect(j.results[0].guest).toBeNull();
  });
});

describe("formats round trips through the CLI", () => {
  test("export chv then import chv then export again is byte-identical", () => {
    const dir = tmp();
    expect(cpuprof(["export", "chv", "skylake", dir]).code).toBe(0);
    const cpuid1 = readFileSync(join(dir, "skylake.cpuid.json"), "utf8");
    const msr1 = readFileSync(join(dir, "skylake.msr.json"), "utf8");
    const imported = join(dir, "imported.json");
    const r = cpuprof([
      "import",
      "chv",
      join(dir, "skylake.cpuid.json"),
      join(dir, "skylake.msr.json"),
      "--vendor",
      "intel",
      "--name",
      "skylake",
      "-o",
      imported,
    ]);
    expect(r.code).toBe(0);
    const dir2 = tmp();
    expect(cpuprof(["export", "chv", imported, dir2]).code).toBe(0);
    expect(readFileSync(join(dir2, "skylake.cpuid.json"), "utf8")).toBe(cpuid1);
    expect(readFileSync(join(dir2, "skylake.msr.json"), "utf8")).toBe(msr1);
  });
  test("export firecracker writes a template with cpuid_modifiers", () => {
    const r = cpuprof(["export", "firecracker", "epyc-milan"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).cpuid_modifiers.length).toBeGreaterThan(0);
  });
  test("schema profile is a JSON Schema that names the format, in its current and its older version", () => {
    const s = JSON.parse(cpuprof(["schema", "profile"]).stdout);
    expect(s.$schema).toContain("json-schema.org");
    const versions = s.oneOf as { properties: Record<string, { const?: unknown; items?: { pattern?: string } }> }[];
    expect(versions.map((v) => v.properties.format!.const)).toEqual(["cpuprof-profile", "cpuprof-profile"]);
    expect(versions.map((v) => v.properties.formatVersion!.const)).toEqual([2, 1]);
    expect(new RegExp(versions[0]!.properties.permittedMsrs!.items!.pattern!).test("0x200-0x21f")).toBe(true);
    expect(cpuprof(["schema", "bogus"]).code).toBe(2);
  });
});

describe.skipIf(!hasKvm)("on the live /dev/kvm", () => {
  test("host --json captures this host in the capture format", () => {
    const r = cpuprof(["host", "--json"]);
    expect(r.code).toBe(0);
    const h = parseHostCapture(JSON.parse(r.stdout), "stdout");
    expect(h.source).toBe("kvm");
    expect(h.kvm?.apiVersion).toBe(12);
  });
  test("verify host runs the guest check in one process and reports its runs", () => {
    const r = cpuprof(["verify", "host", "--json"]);
    expect([0, 1]).toContain(r.code);
    const j = JSON.parse(r.stdout);
    expect(j.results[0].guest.runs).toBeGreaterThan(0);
    expect(j.results[0].guest.cpuidProbes).toBeGreaterThan(10);
    // exit code follows the verdict
    expect(r.code).toBe(j.passed ? 0 : 1);
  });
  test("verify --allow rejects unknown classes as bad input", () => {
    const r = cpuprof(["verify", "host", "--allow", "bogus"]);
    expect(r.code).toBe(2);
    oneLineError(r);
  });
});
