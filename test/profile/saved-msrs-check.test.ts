// check-migration --saved's core: can a destination restore a vCPU's saved MSRs under a profile?
import { describe, expect, test } from "bun:test";
import type { HostCapture } from "../../src/model/host.ts";
import type { Profile } from "../../src/model/profile.ts";
import { embeddedProfile } from "../../src/embedded/profiles.ts";
import { applyProfile } from "../../src/profile/apply.ts";
import { hostProfile } from "../../src/profile/generate.ts";
import { checkSavedMsrs } from "../../src/profile/saved-msrs-check.ts";
import { fixtureHost, fixturesMissing } from "../helpers/fixtures.ts";

const hasFixtures = fixturesMissing === undefined;
if (fixturesMissing) console.log(`skip: saved-MSR checks on real hosts: ${fixturesMissing}`);
const withFixtures = hasFixtures ? test : test.skip;
const ARCH_CAPABILITIES = 0x10a;

/** What saveMsrs would give on `host` under `profile` right after configureVcpu: feature MSRs as set, the rest at reset (0). */
function savedOn(profile: Profile, host: HostCapture) {
  const config = applyProfile(profile, host);
  const set = new Map(config.msrs.map((m) => [m.index, m.value]));
  return config.msrsToSave.map((index) => ({ index, value: set.get(index) ?? 0n }));
}

const withArchCaps = (h: HostCapture, value: bigint): HostCapture => ({
  ...h,
  featureMsrs: h.featureMsrs.map((m) => (m.index === ARCH_CAPABILITIES ? { ...m, value } : m)),
});

describe("checkSavedMsrs", () => {
  withFixtures("skylake's saved MSRs from a Sapphire Rapids host restore on a Skylake host under skylake", () => {
    const skylake = embeddedProfile("skylake")!;
    const spr = fixtureHost("sapphire-rapids"),
      skl = fixtureHost("skylake");
    expect(checkSavedMsrs(savedOn(skylake, spr), skl, skylake)).toEqual({ compatible: true, problems: [] });
  });

  withFixtures(
    "the host profile's saved MSRs from Sapphire Rapids do not: newer *_NO bits and MSRs Skylake's KVM does not know",
    () => {
      const spr = fixtureHost("sapphire-rapids"),
        skl = fixtureHost("skylake");
      const r = checkSavedMsrs(savedOn(hostProfile("intel"), spr), skl);
      expect(r.compatible).toBe(false);
      const names = (kind: string) => r.problems.filter((p) => p.kind === kind).map((p) => p.name);
      expect(names("saved-crucial")).toContain("mds_no");
      expect(names("saved-unknown")).toContain("umwait_control");
      expect(r.problems.find((p) => p.name === "mds_no")!.detail).toMatch(
        /^arch_capabilities \(0x10a\) was saved as 0x[0-9a-f]+, which the destination cannot take: mds_no \(MSR 0x10a\[5\]\): the saved value sets it, the host lacks it$/,
      );
    },
  );

  withFixtures(
    "a saved set from a profile that permits more is not restorable under a narrower one, with the MSRs named",
    () => {
      const skl = fixtureHost("skylake");
      const skylake = embeddedProfile("skylake")!;
      const wide = savedOn(hostProfile("intel"), skl);
      const narrow = new Set(applyProfile(skylake, skl).msrsToSave);
      const extra = wide.filter((m) => !narrow.has(m.index)).map((m) => m.index);
      expect(extra.length).toBeGreaterThan(0);
      const r = checkSavedMsrs(wide, skl, skylake);
      expect(r.problems.filter((p) => p.kind === "saved-not-restorable").length).toBe(extra.length);
      expect(r.problems.find((p) => p.kind === "saved-not-restorable")!.detail).toContain(
        "is not in the destination's msrsToSave under skylake",
      );
    },
  );

  withFixtures(
    "IA32_ARCH_CAPABILITIES by Cloud Hypervisor's rule: an extra FB_CLEAR is accepted on a host immune to what it clears, another extra bit is not",
    () => {
      const spr = fixtureHost("sapphire-rapids");
      const immune = (1n << 5n) | (1n << 8n) | (1n << 13n) | (1n << 14n) | (1n << 15n);
      const base =
        (spr.featureMsrs.find((m) => m.index === ARCH_CAPABILITIES)!.value | immune) & ~(1n << 17n) & ~(1n << 20n);
      const dst = withArchCaps(spr, base);
      const saved = (value: bigint) => [{ index: ARCH_CAPABILITIES, value }];
      expect(checkSavedMsrs(saved(base), dst).compatible).toBe(true);
      expect(checkSavedMsrs(saved(base | (1n << 17n)), dst).compatible).toBe(true);
      const r = checkSavedMsrs(saved(base | (1n << 20n)), dst);
      expect(r.problems.map((p) => [p.kind, p.name])).toEqual([["saved-crucial", "bhi_no"]]);
    },
  );

  withFixtures(
    "an MSR the destination does not know, and a crucial value it does not offer, are named; a crucial 0 it does not offer is fine",
    () => {
      const skl = fixtureHost("skylake");
      // a KVM that saves IA32_ARCH_CAPABILITIES but does not offer it as a feature MSR
      const noArch: HostCapture = {
        ...skl,
        featureMsrs: skl.featureMsrs.filter((m) => m.index !== ARCH_CAPABILITIES),
        msrIndexList: [...skl.msrIndexList, ARCH_CAPABILITIES],
      };
      const r = checkSavedMsrs([{ index: 0x12345678, value: 1n }], skl);
      expect(r.problems).toEqual([
        {
          kind: "saved-unknown",
          name: "0x12345678",
          msr: 0x12345678,
          detail: "0x12345678 (0x12345678) was saved on the source; the destination's KVM does not know it",
        },
      ]);
      expect(checkSavedMsrs([{ index: ARCH_CAPABILITIES, value: 0n }], noArch).compatible).toBe(true);
      expect(checkSavedMsrs([{ index: ARCH_CAPABILITIES, value: 0x20n }], noArch).problems.map((p) => p.kind)).toEqual([
        "saved-crucial",
      ]);
    },
  );
});
