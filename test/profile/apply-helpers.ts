// Small hand-made hosts and profiles for apply/migration tests.
import fc from "fast-check";
import type { CpuidEntry, Register } from "../../src/model/cpuid.ts";
import { REGISTERS } from "../../src/model/cpuid.ts";
import type { HostCapture } from "../../src/model/host.ts";
import type { CpuidAdjustment, Profile } from "../../src/model/profile.ts";
import type { Vendor } from "../../src/model/vendor.ts";
import type { ApplyContext } from "../../src/profile/apply.ts";
import { cpuidFieldsIn, type Policy } from "../../src/policy/index.ts";

export const INTEL_SIG = { ebx: 0x756e6547, edx: 0x49656e69, ecx: 0x6c65746e }; // GenuineIntel

export function entry(fn: number, index: number, regs: Partial<Record<Register, number>> = {}, flags = 0): CpuidEntry {
  return { function: fn, index, flags, eax: regs.eax ?? 0, ebx: regs.ebx ?? 0, ecx: regs.ecx ?? 0, edx: regs.edx ?? 0 };
}

export function host(cpuid: CpuidEntry[], extra: Partial<HostCapture> = {}): HostCapture {
  return {
    source: "kvm",
    vendor: "intel",
    vendorString: "GenuineIntel",
    family: 6,
    model: 0x55,
    stepping: 4,
    brand: null,
    kernel: null,
    microcode: null,
    kvm: null,
    cpuid: [...cpuid].sort((a, b) => a.function - b.function || a.index - b.index),
    featureMsrs: [],
    msrIndexList: [],
    ...extra,
  };
}

export function profile(extra: Partial<Profile> = {}): Profile {
  return {
    name: "test",
    version: 1,
    vendor: "intel",
    kind: "profile",
    description: "",
    sourceHosts: [],
    toolVersion: "0",
    cpuid: [],
    msrs: [],
    permittedMsrs: [],
    ...extra,
  };
}

/** A profile that keeps every host bit of every entry of `h` (mask all ones), like a host profile written out. */
export function passthroughProfile(h: HostCapture, extra: Partial<Profile> = {}): Profile {
  const cpuid: CpuidAdjustment[] = [];
  for (const e of h.cpuid)
    for (const r of REGISTERS)
      cpuid.push({
        leaf: e.function,
        subleaf: { start: e.index, end: e.index },
        register: r,
        replacements: 0,
        mask: 0xffffffff,
      });
  return profile({
    cpuid,
    msrs: h.featureMsrs.map((m) => ({ index: m.index, replacements: 0n, mask: 0xffff_ffff_ffff_ffffn })),
    ...extra,
  });
}

export const emptyPolicy = (vendor: Vendor = "intel"): Policy => ({ vendor, cpuid: [], msrFields: [], msrs: [] });

export function context(policy: Policy = emptyPolicy()): ApplyContext {
  return {
    nestedFields: () => cpuidFieldsIn(policy).filter((f) => f.nested),
    check: () => ({ compatible: true, problems: [], notes: [] }),
  };
}

/** Leaves with no per-vCPU fields, so the profile formula alone decides their registers. */
// 0xD is not plain: apply zeroes components outside XCR0/XSS and recomputes 0xD.0 ECX (test/profile/guest-safety.test.ts).
export const plainLeaves = [0x2, 0x3, 0x5, 0x6, 0x7, 0x80000001, 0x80000002, 0x80000003, 0x80000007];
export const u32 = fc.integer({ min: 0, max: 0xffffffff });
