// export qemu against the real QEMU: for every embedded profile applied on each of its source
// fixture hosts, QEMU's own expansion (QMP query-cpu-model-expansion) of the value `export qemu
// --qemu-version <this QEMU>` prints agrees with the guest view on every feature QEMU names,
// except exactly the features the export lists as inexpressible. Expectations come from whatever
// profiles are embedded. Runs against qemu-system-x86_64 on PATH, and against every binary in
// CPUPROF_QEMU_EXTRA (colon-separated), e.g. another release's QEMU whose model table cpuprof carries.
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { embeddedProfile, embeddedProfileNames } from "../../src/embedded/profiles.ts";
import { signatureOf } from "../../src/model/vendor.ts";
import { SIGNATURE_MASK } from "../../src/formats/feature-profile.ts";
import { applyProfile, type VcpuConfig } from "../../src/profile/apply.ts";
import { chooseQemuTable, parseQemuCpu, profileToQemuCpu } from "../../src/qemu/cpu-string.ts";
import {
  qemuModelFeatures,
  qemuNamedFeatures,
  qemuPropertyKnown,
  type FeatureBit,
} from "../../src/qemu/model-features.ts";
import type { QemuModelTable } from "../../src/qemu/models.ts";
import { Qmp, findQemu } from "../../src/qemu/qmp.ts";
import { fixturesMissing } from "../helpers/fixtures.ts";
import { sourceFixtureHosts } from "../helpers/source-hosts.ts";

const qemu = findQemu();
const skip = !qemu ? "qemu-system-x86_64 is not installed" : fixturesMissing;
if (skip) console.log(`export-qemu: skipped, ${skip}`);
const binaries = [qemu ?? "", ...(process.env.CPUPROF_QEMU_EXTRA ?? "").split(":").filter(Boolean)];

/** A named feature's value in an applied vCPU config (what the guest reads). */
function guestBit(config: VcpuConfig, where: FeatureBit): boolean {
  if (where.kind === "msr")
    return (((config.msrs.find((m) => m.index === where.index)?.value ?? 0n) >> BigInt(where.bit)) & 1n) === 1n;
  const e =
    config.cpuid.find((x) => x.function === where.leaf && x.index === where.subleaf) ??
    (where.subleaf === 0 ? config.cpuid.find((x) => x.function === where.leaf) : undefined);
  return e !== undefined && ((e[where.register] >>> where.bit) & 1) === 1;
}

for (const binary of binaries)
  (skip ? describe.skip : describe)(`export qemu: ${binary}'s expansion equals the guest view`, () => {
    let qmp: Qmp;
    let accel: "kvm" | "tcg" = "tcg";
    let maxProps: Record<string, unknown>;
    let table: QemuModelTable | undefined;
    let version = "";
    beforeAll(async () => {
      // -accel kvm as `export qemu --format args` says; without a usable /dev/kvm, TCG, where the
      // properties whose default depends on the accelerator (and QEMU's cleared KVM PV features) are left out.
      const k =
        existsSync("/dev/kvm") && process.env.CPUPROF_QEMU_ACCEL !== "tcg"
          ? await Qmp.start(binary, "kvm").catch(() => null)
          : null;
      if (k) accel = "kvm";
      else console.log("export-qemu: -accel kvm unavailable, comparing under TCG (KVM PV features excluded)");
      qmp = k ?? (await Qmp.start(binary, "tcg"));
      maxProps = await qmp.expandModel("max");
      const v = (await qmp.execute("query-version")) as { qemu: { major: number; minor: number } };
      version = `${v.qemu.major}.${v.qemu.minor}`;
      table = chooseQemuTable(version);
    }, 15_000);
    afterAll(() => qmp?.close());

    test("cpuprof carries the model table of this QEMU release", () => {
      expect(table?.version).toBe(version);
    });

    for (const name of embeddedProfileNames()) {
      test(name, async () => {
        const profile = embeddedProfile(name)!;
        const out = profileToQemuCpu(profile, table!);
        const { model, props } = parseQemuCpu(out.cpu);
        const expandedProps = await qmp.expandModel(model === "host" ? "max" : model, 10_000, props);
        const expanded = qemuModelFeatures(expandedProps);
        const inexpressible = new Set(out.inexpressible.map((i) => i.feature));
        const accelDependent = new Set([...table!.kvmDefaults.on, ...table!.kvmDefaults.off]);
        for (const i of out.inexpressible) expect(i.reason.length).toBeGreaterThan(10);
        const hosts = profile.kind === "host" ? [] : sourceFixtureHosts(profile);
        if (profile.kind !== "host") expect(hosts.length).toBeGreaterThan(0);
        console.log(`${name} (QEMU ${version}, ${hosts.length} source hosts): ${out.cpu}`);
        for (const { file, host } of hosts) {
          const config = applyProfile(profile, host);
          const differences: string[] = [];
          for (const f of qemuNamedFeatures()) {
            if (!qemuPropertyKnown(maxProps, f.qemu!)) continue;
            if (accel === "tcg" && (f.linux.startsWith("kvm_feature_") || accelDependent.has(f.linux))) continue;
            const guest = guestBit(config, f.bit);
            if (guest !== expanded.has(f.linux) && !inexpressible.has(f.linux))
              differences.push(`${f.linux}: guest ${guest ? 1 : 0}, QEMU ${guest ? 0 : 1}`);
          }
          expect({ file, cpu: out.cpu, differences }).toEqual({ file, cpu: out.cpu, differences: [] });
          // family/model/stepping: the guest's (the profile fixes CPUID 1.EAX) is QEMU's
          const sig = signatureOf(config.cpuid)!;
          const fixesSignature = profile.cpuid.some(
            (a) => a.leaf === 1 && a.register === "eax" && (a.mask & SIGNATURE_MASK) === 0,
          );
          if (fixesSignature)
            expect({
              family: expandedProps.family,
              model: expandedProps.model,
              stepping: expandedProps.stepping,
            }).toEqual({ ...sig });
        }
      }, 30_000);
    }
  });
