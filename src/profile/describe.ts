// Profiles and guest configurations in feature names, for `show`, `apply` and the wizard.
import { cpuidBitName, cpuidFeatureAt, msrBitName, msrName } from "../catalogue/index.ts";
import { REGISTERS, compareCpuidKey, type CpuidEntry, type Register } from "../model/cpuid.ts";
import { bitMask32, hex32, hex64 } from "../model/hex.ts";
import type { Profile } from "../model/profile.ts";
import type { Vendor } from "../model/vendor.ts";
import { cpuidFieldsFor, policyFor } from "../policy/index.ts";

/** A named piece of a register: a policy field (feature bit or multi-bit field), or an uncovered bit. */
export interface RegisterSegment {
  lsb: number;
  msb: number;
  name: string;
  /** Reported once elsewhere (AMD's copy of a leaf-1 EDX bit). */
  alias: boolean;
}

/**
 * The named pieces of one CPUID register: the vendor's policy fields (which name every
 * field the policy classifies, multi-bit ones included), then catalogue names for
 * any bit no field covers.
 */
export function registerSegments(vendor: Vendor, leaf: number, subleaf: number, register: Register): RegisterSegment[] {
  const fields = cpuidFieldsFor(policyFor(vendor), leaf, subleaf, register);
  const out: RegisterSegment[] = [];
  let covered = 0;
  for (const f of fields) {
    const alias = f.lsb === f.msb && cpuidFeatureAt(leaf, subleaf, register, f.lsb)?.aliasOfLeaf1Edx === true;
    out.push({ lsb: f.lsb, msb: f.msb, name: f.name, alias });
    covered |= bitMask32(f.lsb, f.msb);
  }
  for (let bit = 0; bit < 32; bit++) {
    if ((covered >>> bit) & 1) continue;
    const feature = cpuidFeatureAt(leaf, subleaf, register, bit);
    out.push({ lsb: bit, msb: bit, name: cpuidBitName(leaf, subleaf, register, bit), alias: feature?.aliasOfLeaf1Edx === true });
  }
  return out.sort((a, b) => a.lsb - b.lsb);
}

const fieldValue = (v: number, seg: RegisterSegment) => (((v & bitMask32(seg.lsb, seg.msb)) >>> seg.lsb) >>> 0);

export interface FieldChange {
  name: string;
  from: string;
  to: string;
}

export interface GuestChanges {
  /** Features the host offers that the guest does not see. */
  hidden: string[];
  /** Features the guest sees that the host does not offer (emulated or forced). */
  added: string[];
  /** Multi-bit fields whose value differs. */
  fields: FieldChange[];
  /** Feature MSRs whose value the guest sees differently. */
  msrs: FieldChange[];
}


function entryKey(e: { function: number; index: number }): string {
  return `${e.function}.${e.index}`;
}

/** Which named features and fields change between a host's CPUID and a guest's. */
export function guestChanges(
  vendor: Vendor,
  host: readonly CpuidEntry[],
  guest: readonly CpuidEntry[],
  hostMsrs: readonly { index: number; value: bigint }[] = [],
  guestMsrs: readonly { index: number; value: bigint }[] = [],
): GuestChanges {
  const hostBy = new Map(host.map((e) => [entryKey(e), e]));
  const guestBy = new Map(guest.map((e) => [entryKey(e), e]));
  const keys = [...new Set([...hostBy.keys(), ...guestBy.keys()])]
    .map((k) => (hostBy.get(k) ?? guestBy.get(k))!)
    .sort(compareCpuidKey);
  const hidden = new Set<string>();
  const added = new Set<string>();
  const fields: FieldChange[] = [];
  for (const k of keys) {
    const h = hostBy.get(entryKey(k));
    const g = guestBy.get(entryKey(k));
    for (const reg of REGISTERS) {
      const hv = h ? h[reg] : 0;
      const gv = g ? g[reg] : 0;
      if (hv === gv) continue;
      for (const seg of registerSegments(vendor, k.function, k.index, reg)) {
        const a = fieldValue(hv, seg);
        const b = fieldValue(gv, seg);
        if (a === b || seg.alias) continue;
        if (seg.lsb === seg.msb) (a ? hidden : added).add(seg.name);
        else fields.push({ name: seg.name, from: hex32(a), to: hex32(b) });
      }
    }
  }
  const guestMsrBy = new Map(guestMsrs.map((m) => [m.index, m.value]));
  const msrs: FieldChange[] = [];
  for (const m of hostMsrs) {
    const g = guestMsrBy.get(m.index);
    if (g === undefined || g === m.value) continue;
    const changedBits: string[] = [];
    for (let bit = 0; bit < 64; bit++) {
      const hb = (m.value >> BigInt(bit)) & 1n;
      const gb = (g >> BigInt(bit)) & 1n;
      if (hb !== gb) changedBits.push(`${gb ? "+" : "-"}${msrBitName(m.index, bit)}`);
    }
    msrs.push({ name: msrName(m.index), from: hex64(m.value), to: `${hex64(g)} (${changedBits.join(" ")})` });
  }
  return { hidden: [...hidden], added: [...added], fields, msrs };
}

export interface ProfileDescription {
  /** Named features the profile fixes to 1. */
  features: string[];
  /** Fields left to the host the VM runs on. */
  host: string[];
  /** Fields fixed to a value (multi-bit, non-zero). */
  fixed: FieldChange[];
  /** Leaves (and registers) the profile has adjustments for. */
  leaves: number;
  msrs: { name: string; value: string; mask: string }[];
  permittedMsrs: string[];
}

/** A profile in names: what it sets, what it leaves to the host. */
export function describeProfile(p: Profile): ProfileDescription {
  const features = new Set<string>();
  const host = new Set<string>();
  const fixed: FieldChange[] = [];
  for (const a of p.cpuid) {
    for (const seg of registerSegments(p.vendor, a.leaf, a.subleaf.start, a.register)) {
      if (seg.alias) continue;
      const m = bitMask32(seg.lsb, seg.msb);
      if ((a.mask & m) !== 0) host.add(seg.name);
      else if ((a.replacements & m) !== 0) {
        if (seg.lsb === seg.msb) features.add(seg.name);
        else fixed.push({ name: seg.name, from: "", to: hex32(fieldValue(a.replacements, seg)) });
      }
    }
  }
  return {
    features: [...features],
    host: [...host],
    fixed,
    leaves: new Set(p.cpuid.map((a) => a.leaf)).size,
    msrs: p.msrs.map((m) => ({ name: msrName(m.index), value: hex64(m.replacements), mask: hex64(m.mask) })),
    permittedMsrs: p.permittedMsrs.map((i) => msrName(i)),
  };
}
