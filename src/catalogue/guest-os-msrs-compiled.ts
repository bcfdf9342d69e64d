// The guest-OS table (guest-os-msrs.ts) compiled for one vendor into positions: where each row's
// features live in CPUID, and which rows hold each MSR. The bundler builds it (guest-os-msrs-macro.ts)
// so that a cold process tests bits instead of looking features up by name and expanding every row.
import { REGISTERS, type Register } from "../model/cpuid.ts";
import type { Vendor } from "../model/vendor.ts";
import { GUEST_OS_MSRS, guestOsMsrsFor, osMsrIndices } from "./guest-os-msrs.ts";

export interface CompiledGuestOsMsrs {
  /** The distinct CPUID (leaf, subleaf) the vendor's rows test, flattened: [leaf, subleaf, leaf, subleaf, ...]. */
  leaves: number[];
  /** The vendor's rows in table order: `row` indexes GUEST_OS_MSRS; `bits` has one (slot, register, bit) per anyOf name. */
  rows: { row: number; bits: number[] }[];
  /**
   * The vendor's MSRs ascending, as runs of consecutive indices held by the same rows: [first, last, ...rows],
   * rows as positions in `rows`, in table order.
   */
  runs: number[][];
}

/** Where a feature lives (catalogue lookup by name), as the compiler needs it. */
export type FeatureBitOf = (name: string) => { leaf: number; subleaf: number; register: Register; bit: number };

export function compileGuestOsMsrs(vendor: Vendor, featureBit: FeatureBitOf): CompiledGuestOsMsrs {
  const leaves: number[] = [];
  const slotOf = (leaf: number, subleaf: number): number => {
    for (let s = 0; s < leaves.length; s += 2) if (leaves[s] === leaf && leaves[s + 1] === subleaf) return s >> 1;
    leaves.push(leaf, subleaf);
    return (leaves.length >> 1) - 1;
  };
  const rows: CompiledGuestOsMsrs["rows"] = [];
  const rowsOfMsr = new Map<number, number[]>();
  for (const use of guestOsMsrsFor(vendor)) {
    const bits: number[] = [];
    for (const name of use.anyOf) {
      const b = featureBit(name);
      bits.push(slotOf(b.leaf, b.subleaf), REGISTERS.indexOf(b.register), b.bit);
    }
    const at = rows.length;
    rows.push({ row: GUEST_OS_MSRS.indexOf(use), bits });
    for (const msr of osMsrIndices(use)) {
      const list = rowsOfMsr.get(msr);
      if (!list) rowsOfMsr.set(msr, [at]);
      else if (!list.includes(at)) list.push(at);
    }
  }
  const runs: number[][] = [];
  for (const msr of [...rowsOfMsr.keys()].sort((a, b) => a - b)) {
    const held = rowsOfMsr.get(msr)!;
    const cur = runs[runs.length - 1];
    if (cur && cur[1] === msr - 1 && cur.length === held.length + 2 && held.every((r, i) => cur[i + 2] === r))
      cur[1] = msr;
    else runs.push([msr, msr, ...held]);
  }
  return { leaves, rows, runs };
}
