// Cross-check: each embedded profile against QEMU's named CPU model of the same generation,
// through QMP `query-cpu-model-expansion` (type full) on one `qemu-system-x86_64 -machine none`.
// The differences, in feature names, must be exactly those qemu-explained.ts explains
// (plus, automatically, features whose QEMU property this QEMU does not have at all).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { embeddedProfile } from "../../src/embedded/profiles.ts";
import { compareWithQemuModel, qemuNameOf } from "../../src/qemu/model-features.ts";
import { Qmp, findQemu } from "../../src/qemu/qmp.ts";
import { chooseQemuTable, profileToQemuCpu } from "../../src/qemu/cpu-string.ts";
import { QEMU_EXPLAINED, QEMU_MODEL_OF, type Accel } from "./qemu-explained.ts";

const qemu = findQemu();
const describeQemu = qemu ? describe : describe.skip;
if (!qemu) console.log("qemu-crosscheck: skipped, qemu-system-x86_64 is not installed");

/** Does QEMU accept this property name (in any of its spellings)? */
function known(props: Record<string, unknown>, name: string): boolean {
  return [name, name.replaceAll("_", "-"), name.replaceAll(".", "-"), name.replaceAll("-", "_")].some(
    (n) => n in props,
  );
}

describeQemu("embedded profiles vs QEMU named models", () => {
  let qmp: Qmp | null = null;
  let accel: Accel = "tcg";
  let models = new Set<string>();
  let maxProps: Record<string, unknown> = {};

  beforeAll(async () => {
    // KVM when this machine has it (QEMU's KVM defaults are what a KVM user gets), else TCG.
    // CPUPROF_QEMU_ACCEL=tcg checks the TCG half of the table on a KVM machine.
    if (existsSync("/dev/kvm") && process.env.CPUPROF_QEMU_ACCEL !== "tcg") {
      try {
        qmp = await Qmp.start(qemu!, "kvm");
        accel = "kvm";
      } catch {
        qmp = null;
      }
    }
    qmp ??= await Qmp.start(qemu!, "tcg");
    models = await qmp.cpuModels();
    maxProps = await qmp.expandModel("max");
  }, 15_000);

  afterAll(() => qmp?.close());

  for (const [profileName, model] of Object.entries(QEMU_MODEL_OF)) {
    test(`${profileName} vs ${model}`, async () => {
      const profile = embeddedProfile(profileName);
      if (!models.has(model)) {
        // Older QEMU (7.2 has no SapphireRapids, GraniteRapids, EPYC-Genoa): nothing to compare
        // against, so check what `export qemu` does instead: it falls back to a model this QEMU has.
        const v = (await qmp!.execute("query-version")) as { qemu: { major: number; minor: number } };
        const out = profileToQemuCpu(profile!, chooseQemuTable(`${v.qemu.major}.${v.qemu.minor}`)!);
        console.log(
          `${profileName}: this QEMU has no ${model} model; export qemu uses ${out.model} with ${out.flags.length} flags`,
        );
        expect(models.has(out.model)).toBe(true);
        expect(out.model.startsWith(`${model}-`)).toBe(false);
        return;
      }
      expect(profile).toBeDefined();
      const props = await qmp!.expandModel(model);
      const diff = compareWithQemuModel(profile!, props);
      const table = QEMU_EXPLAINED[profileName] ?? {};
      const applies = Object.entries(table).filter(([, e]) => e.accel === undefined || e.accel === accel);

      const unexplained: string[] = [];
      const absentProperty: string[] = [];
      const report: string[] = [`${profileName} vs QEMU ${model} (-accel ${accel}):`];
      for (const [side, names] of [
        ["profile", diff.onlyInProfile],
        ["qemu", diff.onlyInQemu],
      ] as const) {
        for (const f of names) {
          const e = table[f];
          const q = qemuNameOf(f);
          if (e && e.side === side && (e.accel === undefined || e.accel === accel)) {
            report.push(`  only in ${side.padEnd(7)} ${f.padEnd(28)} ${e.reason}`);
          } else if (side === "profile" && q !== null && !known(maxProps, q) && !known(props, q)) {
            absentProperty.push(f);
            report.push(`  only in ${side.padEnd(7)} ${f.padEnd(28)} this QEMU has no property ${q}`);
          } else {
            unexplained.push(`${side}:${f}`);
            report.push(`  only in ${side.padEnd(7)} ${f.padEnd(28)} UNEXPLAINED`);
          }
        }
      }
      const actual = new Set([
        ...diff.onlyInProfile.map((f) => `profile:${f}`),
        ...diff.onlyInQemu.map((f) => `qemu:${f}`),
      ]);
      const stale = applies.filter(([f, e]) => !actual.has(`${e.side}:${f}`)).map(([f, e]) => `${e.side}:${f}`);
      if (stale.length) report.push(`  explained but not a difference: ${stale.join(" ")}`);
      console.log(report.join("\n"));
      expect(unexplained).toEqual([]);
      expect(stale).toEqual([]);
    }, 10_000);
  }
});
