// `cpuprof export qemu` as a user runs it: the -cpu value, --format args, --json, --strict,
// --qemu-version, and the inexpressible features on stderr.
import { describe, expect, test } from "bun:test";
import { embeddedProfile, embeddedProfileNames } from "../../src/embedded/profiles.ts";
import { chooseQemuTable, parseQemuCpu, profileToQemuCpu } from "../../src/qemu/cpu-string.ts";
import { QEMU_MODEL_TABLES } from "../../src/qemu/models.ts";
import { profileBitState } from "../../src/qemu/feature-state.ts";
import { cpuprof } from "../cli/run.ts";

const table = QEMU_MODEL_TABLES[0]!;

describe("export qemu", () => {
  test("prints the model with the fewest flags; every other model of the vendor needs at least as many", () => {
    for (const table of QEMU_MODEL_TABLES)
      for (const name of embeddedProfileNames()) {
        const profile = embeddedProfile(name)!;
        if (profile.kind === "host") continue;
        const out = profileToQemuCpu(profile, table);
        const vendor = profile.vendor === "intel" ? "GenuineIntel" : "AuthenticAMD";
        for (const m of table.models.filter((x) => x.vendor === vendor)) {
          const flagsWith = profileToQemuCpu(profile, { ...table, models: [m] }).flags.length;
          expect(flagsWith).toBeGreaterThanOrEqual(out.flags.length);
        }
        expect(parseQemuCpu(out.cpu).model).toBe(out.model);
      }
  }, 30_000);

  test("stdout is the -cpu value, stderr one line per inexpressible feature with its reason", () => {
    const r = cpuprof(["export", "qemu", "skylake"]);
    expect(r.code).toBe(0);
    const chosen = chooseQemuTable(undefined, embeddedProfile("skylake")!)!;
    const out = profileToQemuCpu(embeddedProfile("skylake")!, chosen);
    expect(r.stdout).toBe(`${out.cpu}\n`);
    const lines = r.stderr.trim().split("\n").filter(Boolean);
    const which = QEMU_MODEL_TABLES.length > 1 ? 1 : 0;
    expect(lines.length).toBe(out.inexpressible.length + which + out.notes.length);
    for (const [i, l] of lines.slice(0, out.inexpressible.length).entries())
      expect(l).toContain(`cannot express ${out.inexpressible[i]!.feature}`);
    if (which) expect(lines[out.inexpressible.length]).toContain(`models of QEMU ${chosen.version}`);
    expect(lines.slice(out.inexpressible.length + which)).toEqual(out.notes.map((n) => `export qemu: note: ${n}`));
  }, 30_000);

  test("--format args, --json", () => {
    const out = profileToQemuCpu(
      embeddedProfile("ice-lake")!,
      chooseQemuTable(undefined, embeddedProfile("ice-lake")!)!,
    );
    expect(cpuprof(["export", "qemu", "ice-lake", "--format", "args"]).stdout).toBe(`-accel kvm -cpu ${out.cpu}\n`);
    const j = JSON.parse(cpuprof(["export", "qemu", "ice-lake", "--json"]).stdout);
    expect(j.model).toBe(out.model);
    expect(j.cpu).toBe(out.cpu);
    expect(j.qemuVersion).toBe(out.qemuVersion);
    const v72 = JSON.parse(
      cpuprof(["export", "qemu", "ice-lake", "--json", "--qemu-version", QEMU_MODEL_TABLES[0]!.version]).stdout,
    );
    expect(v72.qemuVersion).toBe(QEMU_MODEL_TABLES[0]!.version);
    expect(j.inexpressible.map((i: { feature: string }) => i.feature)).toEqual(out.inexpressible.map((i) => i.feature));
  }, 30_000);

  test("--strict fails (exit 1, nothing on stdout) when something is inexpressible", () => {
    const out = profileToQemuCpu(
      embeddedProfile("epyc-genoa")!,
      chooseQemuTable(undefined, embeddedProfile("epyc-genoa")!)!,
    );
    const r = cpuprof(["export", "qemu", "epyc-genoa", "--strict"]);
    expect(r.code).toBe(out.inexpressible.length ? 1 : 0);
    if (out.inexpressible.length) expect(r.stdout).toBe("");
  }, 30_000);

  test("a profile with invariant TSC gets the tsc-frequency note, one without does not", () => {
    for (const name of embeddedProfileNames()) {
      const profile = embeddedProfile(name)!;
      if (profile.kind === "host") continue;
      const out = profileToQemuCpu(profile, table);
      const invtsc =
        profileBitState(profile, { kind: "cpuid", leaf: 0x80000007, subleaf: 0, register: "edx", bit: 8 }) === 1;
      expect([name, out.notes.some((n) => n.startsWith("invtsc:"))]).toEqual([name, invtsc]);
    }
  });

  test("the host profile is QEMU's host model", () => {
    expect(cpuprof(["export", "qemu", "host"]).stdout).toBe("host\n");
  }, 30_000);

  test("an unknown --qemu-version or --format is a one-line input error", () => {
    const r = cpuprof(["export", "qemu", "skylake", "--qemu-version", "1.0"]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(cpuprof(["export", "qemu", "skylake", "--format", "xml"]).code).toBe(2);
    expect(cpuprof(["export", "libvirt", "skylake", "--format", "args"]).code).toBe(2);
  }, 30_000);
});

describe("chooseQemuTable", () => {
  const base = QEMU_MODEL_TABLES[0]!;
  // Two hypothetical releases: the older lacks the Skylake-SP models, the newer has them.
  const older = { ...base, version: "1.0", models: base.models.filter((m) => !(m.family === 6 && m.model === 0x55)) };
  const tables = [older, base];

  test("default: the oldest QEMU that knows the profile's generation, else the newest", () => {
    expect(chooseQemuTable(undefined, embeddedProfile("skylake")!, tables)?.version).toBe(base.version);
    expect(chooseQemuTable(undefined, embeddedProfile("ice-lake")!, tables)?.version).toBe(older.version);
    const unknown = base.models.some((m) => m.family === 6 && m.model === 0xad)
      ? undefined
      : embeddedProfile("granite-rapids")!;
    if (unknown) expect(chooseQemuTable(undefined, unknown, tables)?.version).toBe(base.version);
  });

  test("an explicit version: major.minor of any patch level, unknown ones undefined", () => {
    expect(chooseQemuTable(`${base.version}.22`, undefined, tables)).toBe(base);
    expect(chooseQemuTable("1.0", undefined, tables)).toBe(older);
    expect(chooseQemuTable("99.1", undefined, tables)).toBeUndefined();
  });
});

test("every model table: QEMU's accelerator-dependent defaults agree, and the table names its release", () => {
  for (const t of QEMU_MODEL_TABLES) {
    expect(t.generatedFrom.startsWith(`${t.version}.`)).toBe(true);
    expect(t.kvmDefaults.on).toEqual(QEMU_MODEL_TABLES[0]!.kvmDefaults.on);
  }
  expect(QEMU_MODEL_TABLES.map((t) => t.version)).toEqual(
    [...QEMU_MODEL_TABLES.map((t) => t.version)].sort(
      (a, b) => Number(a.split(".")[0]) - Number(b.split(".")[0]) || Number(a.split(".")[1]) - Number(b.split(".")[1]),
    ),
  );
});
