// A profile from a list of fixed feature bits (a QEMU model expansion, a libvirt <cpu>): those
// bits are fixed, every other field of every leaf the vendor's policy knows is left to the host,
// and the MSRs are permitted as generate permits them (the policy's, and those a guest OS uses for
// the advertised features). Shared by `import qemu` and `import libvirt`.
import {
  normaliseProfile,
  checkProfile,
  type CpuidAdjustment,
  type MsrAdjustment,
  type Profile,
} from "../model/profile.ts";
import type { Register } from "../model/cpuid.ts";
import type { Vendor } from "../model/vendor.ts";
import { cpuidLeavesOf, featureMsrsOf, policyFor } from "../policy/index.ts";
import { reconcilePermittedMsrs } from "../profile/guest-msrs.ts";
import type { FeatureBit } from "../qemu/model-features.ts";
import { TOOL_VERSION } from "../version.ts";

const REGISTERS: readonly Register[] = ["eax", "ebx", "ecx", "edx"];
const U32 = 0xffffffff;

/** A kebab-case profile name from a model name (Skylake-Server-v4 -> skylake-server-v4). */
export function profileNameFrom(model: string): string {
  return (
    model
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 63) || "imported"
  );
}

export interface FixedBit {
  bit: FeatureBit;
  on: boolean;
}

/** A multi-bit CPUID field the source defines too (QEMU: family/model/stepping in 1.EAX). */
export interface FixedField {
  leaf: number;
  subleaf: number;
  register: Register;
  mask: number;
  value: number;
}

/** CPUID 1.EAX bits of stepping, model, family, extended model and extended family (not the processor type). */
export const SIGNATURE_MASK = 0x0fff0fff;

/** CPUID 1.EAX's signature fields for a family/model/stepping, as the SDM/APM encode them. */
export function signatureField(family: number, model: number, stepping: number): FixedField {
  const baseFamily = Math.min(family, 0xf);
  const extFamily = family > 0xf ? family - 0xf : 0;
  const value =
    (stepping & 0xf) |
    ((model & 0xf) << 4) |
    (baseFamily << 8) |
    (((model >> 4) & 0xf) << 16) |
    ((extFamily & 0xff) << 20);
  return { leaf: 1, subleaf: 0, register: "eax", mask: SIGNATURE_MASK, value: value >>> 0 };
}

export function profileFromFixedBits(
  vendor: Vendor,
  fixed: readonly FixedBit[],
  meta: { name: string; description: string; where: string },
  fields: readonly FixedField[] = [],
): Profile {
  const policy = policyFor(vendor);
  const cpuidBits = fixed.filter(
    (f): f is FixedBit & { bit: Extract<FeatureBit, { kind: "cpuid" }> } => f.bit.kind === "cpuid",
  );
  const cpuid: CpuidAdjustment[] = [];
  for (const leaf of new Set([
    ...cpuidLeavesOf(policy),
    ...cpuidBits.map((f) => f.bit.leaf),
    ...fields.map((f) => f.leaf),
  ])) {
    const here = cpuidBits.filter((f) => f.bit.leaf === leaf);
    const fieldsHere = fields.filter((f) => f.leaf === leaf);
    // Disjoint subleaf ranges: each subleaf with fixed bits alone, the gaps between them whole.
    const subs = [...new Set([...here.map((f) => f.bit.subleaf), ...fieldsHere.map((f) => f.subleaf)])].sort(
      (a, b) => a - b,
    );
    const ranges: { start: number; end: number }[] = [];
    let next = 0;
    for (const s of subs) {
      if (s > next) ranges.push({ start: next, end: s - 1 });
      ranges.push({ start: s, end: s });
      next = s + 1;
    }
    if (next <= U32) ranges.push({ start: next, end: U32 });
    for (const r of ranges)
      for (const register of REGISTERS) {
        let defined = 0;
        let replacements = 0;
        for (const f of here)
          if (f.bit.register === register && f.bit.subleaf === r.start && r.start === r.end) {
            defined |= 1 << f.bit.bit;
            if (f.on) replacements |= 1 << f.bit.bit;
          }
        for (const f of fieldsHere)
          if (f.register === register && f.subleaf === r.start && r.start === r.end) {
            defined |= f.mask;
            replacements = (replacements & ~f.mask) | (f.value & f.mask);
          }
        cpuid.push({ leaf, subleaf: r, register, replacements: replacements >>> 0, mask: (U32 & ~defined) >>> 0 });
      }
  }
  const msrs: MsrAdjustment[] = [];
  const featureMsrs = new Set(featureMsrsOf(policy));
  for (const index of new Set(fixed.flatMap((f) => (f.bit.kind === "msr" ? [f.bit.index] : [])))) {
    if (!featureMsrs.has(index)) continue;
    let defined = 0n;
    let replacements = 0n;
    for (const f of fixed)
      if (f.bit.kind === "msr" && f.bit.index === index) {
        defined |= 1n << BigInt(f.bit.bit);
        if (f.on) replacements |= 1n << BigInt(f.bit.bit);
      }
    // All named bits 0: no adjustment, so the guest reads 0 and hosts without the MSR still run the profile.
    if (replacements === 0n) continue;
    msrs.push({ index, replacements, mask: BigInt.asUintN(64, ~defined) });
  }
  // The policy's permitted MSRs and those a guest OS uses for the advertised features, none of hidden ones.
  const permittedMsrs = reconcilePermittedMsrs(policy, { kind: "profile", cpuid }, []);
  const profile: Profile = {
    name: meta.name,
    version: 1,
    vendor,
    kind: "profile",
    description: meta.description,
    sourceHosts: [],
    toolVersion: TOOL_VERSION,
    cpuid,
    msrs,
    permittedMsrs,
  };
  checkProfile(profile, meta.where);
  return normaliseProfile(profile);
}
