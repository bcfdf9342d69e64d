// Profiles and guest configurations in feature names, for `show`, `apply` and the wizard.
import { msrBitName, msrName } from "../catalogue/index.ts";
import { bitSet, fieldValue } from "../fields/bits.ts";
import { fieldMask32, splitMsr, splitRegister, type Field } from "../fields/split.ts";
import { mergedLeaves, tableView } from "../fields/view.ts";
import { REGISTERS, type CpuidEntry } from "../model/cpuid.ts";
import { hex32, hex64 } from "../model/hex.ts";
import type { Profile } from "../model/profile.ts";
import type { Vendor } from "../model/vendor.ts";

const fieldValue32 = (v: number, f: Field) => fieldValue(f, v >>> 0);

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

/** Which named features and fields change between a host's CPUID and a guest's (two table views, one split). */
export function guestChanges(
  vendor: Vendor,
  host: readonly CpuidEntry[],
  guest: readonly CpuidEntry[],
  hostMsrs: readonly { index: number; value: bigint }[] = [],
  guestMsrs: readonly { index: number; value: bigint }[] = [],
): GuestChanges {
  const hv = tableView(vendor, host, hostMsrs),
    gv = tableView(vendor, guest, guestMsrs);
  const hidden = new Set<string>();
  const added = new Set<string>();
  const fields: FieldChange[] = [];
  for (const k of mergedLeaves(hv, gv)) {
    for (const reg of REGISTERS) {
      const h = hv.register(k.function, k.index, reg).fixed,
        g = gv.register(k.function, k.index, reg).fixed;
      if (h === g) continue;
      for (const f of splitRegister(vendor, k.function, k.index, reg)) {
        const a = fieldValue32(h, f),
          b = fieldValue32(g, f);
        if (a === b || f.alias) continue;
        if (f.lsb === f.msb) (a ? hidden : added).add(f.name);
        else fields.push({ name: f.name, from: hex32(a), to: hex32(b) });
      }
    }
  }
  const msrs: FieldChange[] = [];
  for (const [index, m] of hv.msrs) {
    const g = gv.msrs.get(index)?.fixed;
    if (g === undefined || g === m.fixed) continue;
    const changedBits: string[] = [];
    for (const f of splitMsr(vendor, index))
      for (let bit = f.lsb; bit <= f.msb; bit++)
        if (bitSet(m.fixed, bit) !== bitSet(g, bit))
          changedBits.push(`${bitSet(g, bit) ? "+" : "-"}${f.lsb === f.msb ? f.name : msrBitName(index, bit)}`);
    msrs.push({ name: msrName(index), from: hex64(m.fixed), to: `${hex64(g)} (${changedBits.join(" ")})` });
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
    for (const f of splitRegister(p.vendor, a.leaf, a.subleaf.start, a.register)) {
      if (f.alias) continue;
      const m = fieldMask32(f);
      if ((a.mask & m) !== 0) host.add(f.name);
      else if ((a.replacements & m) !== 0) {
        if (f.lsb === f.msb) features.add(f.name);
        else fixed.push({ name: f.name, from: "", to: hex32(fieldValue32(a.replacements, f)) });
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
