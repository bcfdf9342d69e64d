// check-migration --saved FILE as a user runs it: against a host file and against this host's /dev/kvm.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { captureLiveHost } from "../../src/host/live.ts";
import { Kvm } from "../../src/kvm/index.ts";
import { applyProfile } from "../../src/profile/apply.ts";
import { hostProfileOf } from "../../src/profile/migration.ts";
import { configureVcpu, saveMsrs, serializeSavedMsrs } from "../../src/vmm/index.ts";
import { fixtureHost as hostOf, fixturesMissing } from "../helpers/fixtures.ts";
import { hex64 } from "../../src/model/hex.ts";
import { kvmSkipReason } from "../kvm/kvm-device.ts";
import { cpuprof, fixtureHost } from "./run.ts";

if (fixturesMissing) console.log(`skip: check-migration --saved on fixture hosts: ${fixturesMissing}`);
const withFixtures = fixturesMissing ? test.skip : test;
const onDevice = kvmSkipReason ? test.skip : test;
const SKL = fixtureHost("INTEL_SKYLAKE");
const tmp = () => mkdtempSync(join(tmpdir(), "cpuprof-saved-"));

function savedFile(msrs: { index: string; value: string }[]): string {
  const f = join(tmp(), "saved.json");
  writeFileSync(f, JSON.stringify({ format: "cpuprof-saved-msrs", formatVersion: 1, vcpuId: 0, msrs }));
  return f;
}

/** Skylake's own value plus BHI_NO (bit 20), which Skylake lacks. */
const archCapsWithBhiNo = () =>
  hex64(hostOf("skylake").featureMsrs.find((m) => m.index === 0x10a)!.value | (1n << 20n));

describe("check-migration --saved", () => {
  withFixtures(
    "safe values exit 0; a value the destination cannot take exits 1 naming the bit; --json carries the problems",
    () => {
      // the destination's own IA32_ARCH_CAPABILITIES (bad-news bits such as RSBA included) and an MSR its KVM saves
      const archCaps = hex64(hostOf("skylake").featureMsrs.find((m) => m.index === 0x10a)!.value);
      const ok = cpuprof([
        "check-migration",
        "--saved",
        savedFile([
          { index: "0x10a", value: archCaps },
          { index: "0xc0000081", value: "0x1234" },
        ]),
        "--to",
        SKL,
      ]);
      expect(ok.stdout).toMatch(/^2 saved MSRs -> .* \(host profile\): safe\n$/);
      expect(ok.code).toBe(0);
      const bad = savedFile([
        { index: "0x10a", value: archCapsWithBhiNo() },
        { index: "0x12345678", value: "0x1" },
      ]);
      const r = cpuprof(["check-migration", "--saved", bad, "--to", SKL, "--profile", "skylake"]);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain("under skylake: NOT SAFE");
      expect(r.stdout).toContain("saved-crucial: bhi_no:");
      expect(r.stdout).toContain("saved-unknown: 0x12345678");
      const j = JSON.parse(cpuprof(["check-migration", "--saved", bad, "--to", SKL, "--json"]).stdout);
      expect(j.safe).toBe(false);
      expect(j.savedMsrs).toBe(2);
      expect(j.problems.map((p: { kind: string }) => p.kind).sort()).toEqual(["saved-crucial", "saved-unknown"]);
    },
  );

  test("a bad saved file is one line on stderr and exit 2", () => {
    const f = join(tmp(), "bad.json");
    writeFileSync(
      f,
      JSON.stringify({
        format: "cpuprof-saved-msrs",
        formatVersion: 1,
        vcpuId: 0,
        msrs: [{ index: "0x10", value: "0X1" }],
      }),
    );
    const r = cpuprof(["check-migration", "--saved", f, "--to", f]);
    expect(r.code).toBe(2);
    expect(r.stderr).toStartWith(`cpuprof: ${f}: $.msrs[0].value: expected`);
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
  });

  onDevice(
    "what saveMsrs gives on this host restores here under the host profile (the destination is /dev/kvm without --to)",
    () => {
      const host = captureLiveHost();
      const config = applyProfile(hostProfileOf(host), host);
      using kvm = Kvm.open();
      using vm = kvm.createVm();
      const vcpu = vm.createVcpu(0);
      configureVcpu(vcpu, config, { crucial: "report" });
      const f = join(tmp(), "live.json");
      writeFileSync(f, serializeSavedMsrs(saveMsrs(vcpu, config)));
      const r = cpuprof(["check-migration", "--saved", f]);
      expect(r.stdout).toEndWith("(host profile): safe\n");
      expect(r.code).toBe(0);
    },
  );
});
