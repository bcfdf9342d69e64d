// import qemu asks the real QEMU; `import qemu MODEL` then `export qemu` gives back a -cpu value
// that QEMU expands to the same features (under -accel kvm, or TCG without a usable /dev/kvm).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseQemuCpu } from "../../src/qemu/cpu-string.ts";
import { qemuModelFeatures } from "../../src/qemu/model-features.ts";
import { QEMU_MODEL_TABLES } from "../../src/qemu/models.ts";
import { Qmp, findQemu } from "../../src/qemu/qmp.ts";
import { parseProfile } from "../../src/model/profile.ts";
import { guestMsrProblems } from "../../src/profile/guest-msrs.ts";
import { cpuprof } from "../cli/run.ts";

const qemu = findQemu();
if (!qemu) console.log("import-qemu: skipped, qemu-system-x86_64 is not installed");
// QEMU's accelerator-dependent defaults are the same in every table cpuprof carries (checked in export-qemu-cli).
const accelDependent = new Set(QEMU_MODEL_TABLES.flatMap((t) => [...t.kvmDefaults.on, ...t.kvmDefaults.off]));

(qemu ? describe : describe.skip)("import qemu", () => {
  let qmp: Qmp;
  let accel: "kvm" | "tcg" = "tcg";
  let dir: string;
  let version = "";
  beforeAll(async () => {
    const k = existsSync("/dev/kvm") ? await Qmp.start(qemu!, "kvm").catch(() => null) : null;
    if (k) accel = "kvm";
    qmp = k ?? (await Qmp.start(qemu!, "tcg"));
    dir = mkdtempSync(join(tmpdir(), "cpuprof-import-qemu-"));
    const v = (await qmp.execute("query-version")) as { qemu: { major: number; minor: number } };
    version = `${v.qemu.major}.${v.qemu.minor}`;
  }, 15_000);
  afterAll(() => {
    qmp?.close();
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  /** Named features of a -cpu value as this QEMU expands it (accelerator-dependent ones left out under TCG). */
  async function expand(cpu: string): Promise<string[]> {
    const { model, props } = parseQemuCpu(cpu);
    const f = qemuModelFeatures(await qmp.expandModel(model, 10_000, props));
    return [...f].filter((x) => accel === "kvm" || !(x.startsWith("kvm_feature_") || accelDependent.has(x))).sort();
  }

  for (const cpu of [
    "Skylake-Server-v4",
    "EPYC-Milan",
    "Icelake-Server-v6,-avx512vnni,+pku",
    "Cascadelake-Server-v5",
  ]) {
    test(`${cpu}: import then export gives an equivalent -cpu value`, async () => {
      const file = join(dir, "p.json");
      const imp = cpuprof(["import", "qemu", cpu, "-o", file]);
      expect(imp.code).toBe(0);
      const profile = parseProfile(await Bun.file(file).json(), file);
      expect(profile.description).toContain("left to the host");
      // permitted MSRs as a guest OS needs them: apply accepts the profile
      expect(guestMsrProblems(profile)).toEqual([]);
      const exp = cpuprof(["export", "qemu", file, "--qemu-version", version]);
      expect(exp.code).toBe(0);
      const back = exp.stdout.trim();
      console.log(`${cpu} -> ${back}`);
      expect(await expand(back)).toEqual(await expand(cpu));
    }, 20_000);
  }

  test("Skylake-Server-v4 comes back as exactly Skylake-Server-v4", () => {
    const file = join(dir, "sk.json");
    expect(cpuprof(["import", "qemu", "Skylake-Server-v4", "-o", file]).code).toBe(0);
    expect(cpuprof(["export", "qemu", file]).stdout).toBe("Skylake-Server-v4\n");
  }, 30_000);

  test("errors: an unknown model is bad input (2), a missing QEMU an environment error (3)", () => {
    const r = cpuprof(["import", "qemu", "No-Such-Model"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("No-Such-Model");
    expect(cpuprof(["import", "qemu", "Skylake-Server", "--qemu", "/nonexistent/qemu"]).code).toBe(3);
    expect(cpuprof(["import", "qemu", "Skylake-Server", "--name", "Bad Name"]).code).toBe(2);
  }, 30_000);
});
