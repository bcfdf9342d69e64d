// Views: a host capture, a profile or an applied vCPU configuration seen the same way, so that any can be
// compared with any: at each CPUID register and feature MSR, the bits fixed to a value and the bits left to the host.
import { compareCpuidKey, findCpuid, type CpuidEntry, type Register } from "../model/cpuid.ts";
import type { HostCapture } from "../model/host.ts";
import { findAdjustment, type Profile } from "../model/profile.ts";
import type { Vendor } from "../model/vendor.ts";

export type Config = Profile | HostCapture;

export function isProfile(c: Config): c is Profile {
  return "permittedMsrs" in c;
}

/** One register or MSR: `fixed` holds the fixed bits' values, `hostBits` the bits the host decides at apply time. */
export interface Slot<T> {
  fixed: T;
  hostBits: T;
}

export interface FeatureView {
  vendor: Vendor;
  /** (function, index) pairs this side names: a host's entries, a profile's adjustments (a range by its first subleaf). */
  leaves: { function: number; index: number }[];
  register(leaf: number, subleaf: number, register: Register): Slot<number>;
  /** Feature MSR slots by index; a missing MSR is one this side does not set. */
  msrs: ReadonlyMap<number, Slot<bigint>>;
  /** MSRs a guest may access (a host: every MSR its KVM saves); null when unrestricted (a "host" kind profile). */
  permitted: ReadonlySet<number> | null;
}

const NOTHING: Slot<number> = { fixed: 0, hostBits: 0 };
const ALL_TO_HOST: Slot<number> = { fixed: 0, hostBits: 0xffffffff };

function uniqueLeaves(keys: { function: number; index: number }[]): { function: number; index: number }[] {
  const seen = new Set<string>();
  return keys.filter((k) => {
    const id = `${k.function}/${k.index}`;
    return seen.has(id) ? false : (seen.add(id), true);
  }).sort(compareCpuidKey);
}

/** A CPUID table with MSR values (a host's, or an applied configuration's): every bit fixed. */
export function tableView(
  vendor: Vendor,
  cpuid: readonly CpuidEntry[],
  msrs: readonly { index: number; value: bigint }[],
  permitted: ReadonlySet<number> | null = null,
): FeatureView {
  return {
    vendor,
    leaves: uniqueLeaves(cpuid.map((e) => ({ function: e.function, index: e.index }))),
    register: (leaf, subleaf, register) => {
      const e = findCpuid(cpuid, leaf, subleaf);
      return e ? { fixed: e[register], hostBits: 0 } : NOTHING;
    },
    msrs: new Map(msrs.map((m) => [m.index, { fixed: m.value, hostBits: 0n }])),
    permitted,
  };
}

function hostView(h: HostCapture): FeatureView {
  return tableView(h.vendor, h.cpuid, h.featureMsrs, new Set(h.msrIndexList));
}

function profileView(p: Profile): FeatureView {
  // Cloud Hypervisor's "host" profile adjusts nothing: every register is the host's.
  if (p.kind === "host") return { vendor: p.vendor, leaves: [], register: () => ALL_TO_HOST, msrs: new Map(), permitted: null };
  return {
    vendor: p.vendor,
    leaves: uniqueLeaves(p.cpuid.map((a) => ({ function: a.leaf, index: a.subleaf.start }))),
    register: (leaf, subleaf, register) => {
      const a = findAdjustment(p, leaf, subleaf, register);
      // unmatched registers are zero in the guest: fixed, not left to the host
      return a ? { fixed: (a.replacements & ~a.mask) >>> 0, hostBits: a.mask >>> 0 } : NOTHING;
    },
    msrs: new Map(p.msrs.map((m) => [m.index, { fixed: m.replacements & ~m.mask, hostBits: m.mask }])),
    permitted: new Set(p.permittedMsrs),
  };
}

export function featureView(c: Config): FeatureView {
  return isProfile(c) ? profileView(c) : hostView(c);
}

/** The (function, index) pairs either view names, once each, in canonical order. */
export function mergedLeaves(a: FeatureView, b: FeatureView): { function: number; index: number }[] {
  return uniqueLeaves([...a.leaves, ...b.leaves]);
}
