// compat: Cloud Hypervisor's IA32_ARCH_CAPABILITIES rule and the per-field reports.
import { describe, expect, test } from "bun:test";
import type { HostCapture } from "../../src/model/host.ts";
import type { Profile } from "../../src/model/profile.ts";
import { checkCompatibility } from "../../src/profile/compat.ts";
import { host as testHost, profile as testProfile } from "./apply-helpers.ts";

const host = (arch: bigint | undefined, vendor: "intel" | "amd" = "intel"): HostCapture =>
  testHost([], {
    vendor,
    vendorString: vendor === "intel" ? "GenuineIntel" : "AuthenticAMD",
    model: 0x8f,
    stepping: 8,
    featureMsrs: arch === undefined ? [] : [{ index: 0x10a, value: arch }],
    msrIndexList: [0x10a],
  });
const profile = (arch: bigint, permitted: number[] = []): Profile =>
  testProfile({ name: "p", msrs: [{ index: 0x10a, replacements: arch, mask: 0n }], permittedMsrs: permitted });
const bits = (...b: number[]) => b.reduce((v, n) => v | (1n << BigInt(n)), 0n);

describe("IA32_ARCH_CAPABILITIES rule", () => {
  test("good-news bits: the profile's must be on the host", () => {
    const r = checkCompatibility(profile(bits(5)), host(bits(0)));
    expect(r.compatible).toBe(false);
    expect(r.problems).toEqual([
      expect.objectContaining({ kind: "arch-capabilities", name: "mds_no", msr: 0x10a, bit: 5 }),
    ]);
  });
  test("RSBA and RRSBA: the host's must be in the profile's", () => {
    expect(checkCompatibility(profile(bits(2, 19)), host(bits(19))).compatible).toBe(true);
    expect(checkCompatibility(profile(0n), host(bits(19))).problems.map((p) => p.name)).toEqual(["rrsba"]);
  });
  test("bits the SDM does not define never make a host incompatible (a newer KVM reporting bit 30 or 40)", () => {
    expect(checkCompatibility(profile(0n), host(bits(40))).problems.map((p) => p.name)).toEqual([]);
    expect(checkCompatibility(profile(0n), host(bits(30))).problems.map((p) => p.name)).toEqual([]);
  });
  test("a profile whose only extra bit is FB_CLEAR runs on a host with MDS_NO, TAA_NO, SBDR_SSDP_NO, FBSDP_NO, PSDP_NO", () => {
    const immune = bits(5, 8, 13, 14, 15);
    const ok = checkCompatibility(profile(bits(17, 5)), host(immune));
    expect(ok.compatible).toBe(true);
    expect(ok.notes.join(" ")).toContain("FB_CLEAR");
    expect(checkCompatibility(profile(bits(17)), host(bits(5, 13, 14, 15))).problems.map((p) => p.name)).toEqual([
      "fb_clear",
    ]);
    expect(checkCompatibility(profile(bits(17, 20)), host(immune)).compatible).toBe(false);
  });
  test("a feature MSR the host does not offer is msr-missing", () => {
    expect(checkCompatibility(profile(bits(5)), host(undefined)).problems).toEqual([
      expect.objectContaining({ kind: "msr-missing", msr: 0x10a }),
    ]);
  });
});

describe("checkCompatibility", () => {
  test("vendor mismatch is one vendor problem", () => {
    const r = checkCompatibility(profile(0n), host(0n, "amd"));
    expect(r).toMatchObject({ compatible: false, problems: [{ kind: "vendor" }] });
  });
  test("a numeric field above the host is numeric-above", () => {
    const p: Profile = {
      ...profile(0n),
      msrs: [],
      cpuid: [{ leaf: 0, subleaf: { start: 0, end: 0xffffffff }, register: "eax", replacements: 0x20, mask: 0 }],
    };
    const h = { ...host(0n), cpuid: [{ function: 0, index: 0, flags: 0, eax: 0x16, ebx: 0, ecx: 0, edx: 0 }] };
    expect(checkCompatibility(p, h).problems).toEqual([
      expect.objectContaining({ kind: "numeric-above", name: "max_basic_leaf", leaf: 0 }),
    ]);
  });
  test("permitted MSRs the host lacks are a note, not a problem; implicit ones are not even noted", () => {
    const r = checkCompatibility(profile(0n, [0x2ff, 0x4b564d07]), host(0n));
    expect(r.compatible).toBe(true);
    expect(r.notes).toEqual([expect.stringContaining("0x4b564d07")]);
    expect(r.notes.join(" ")).not.toContain("0x2ff");
  });
  test("is pure: the same inputs give the same report", () => {
    const p = profile(bits(5, 17)),
      h = host(bits(0, 8));
    expect(checkCompatibility(p, h)).toEqual(checkCompatibility(structuredClone(p), structuredClone(h)));
  });
});
