// What differs between two CPU configurations, each a profile or a host capture, in feature names.
import { cpuidBitLocation, cpuidBitName, msrBitName, msrName } from "../catalogue/index.ts";
import { REGISTERS } from "../model/cpuid.ts";
import { hex32, hex64 } from "../model/hex.ts";
import type { Vendor } from "../model/vendor.ts";
import { bitsWhere } from "../fields/bits.ts";
import { fieldMask64, splitMsr, splitRegister, type Field } from "../fields/split.ts";
import { featureView, mergedLeaves, type Config, type Slot } from "../fields/view.ts";

export interface NamedBit {
  name: string;
  /** `0x7.0.ebx[23]`, `arch_capabilities[19]`. */
  where: string;
}

export interface NumericDifference {
  name: string;
  where: string;
  a: string;
  b: string;
}

export interface LeftToHostDifference {
  name: string;
  where: string;
  /** The side that leaves the field to the host; the other side fixes it to `fixed`. */
  leftToHostIn: "a" | "b";
  fixed: string;
}

export interface DifferenceSet {
  onlyInA: NamedBit[];
  onlyInB: NamedBit[];
  numeric: NumericDifference[];
  leftToHost: LeftToHostDifference[];
}

export interface NamedMsr {
  index: string;
  name: string;
}

export interface ConfigDiff {
  vendor: { a: Vendor; b: Vendor } | null;
  cpuid: DifferenceSet;
  /** Feature-MSR values; `msrsOnlyInA/B` name feature MSRs that only one side sets. */
  msrs: DifferenceSet & { msrsOnlyInA: NamedMsr[]; msrsOnlyInB: NamedMsr[] };
  /** MSRs a guest may access (a host: its KVM_GET_MSR_INDEX_LIST). `unrestrictedIn`: a side that permits everything. */
  permitted: { onlyInA: NamedMsr[]; onlyInB: NamedMsr[]; unrestrictedIn: "a" | "b" | null };
  equal: boolean;
}

function emptySet(): DifferenceSet {
  return { onlyInA: [], onlyInB: [], numeric: [], leftToHost: [] };
}

interface Naming {
  bit: (bit: number) => string;
  where: (lsb: number, msb: number) => string;
  show: (v: bigint) => string;
}

/** Adds the differences between two slots of one register or MSR to `out`, segment by segment. */
function compareSlots(
  segments: readonly Field[],
  a: Slot<bigint>,
  b: Slot<bigint>,
  naming: Naming,
  out: DifferenceSet,
): void {
  for (const s of segments) {
    const mask = fieldMask64(s);
    const toHostA = (a.hostBits & mask) !== 0n,
      toHostB = (b.hostBits & mask) !== 0n;
    const shift = BigInt(s.lsb);
    if (toHostA !== toHostB) {
      const fixedSide = toHostA ? b : a;
      const name = s.lsb === s.msb || !s.bits ? s.name : naming.bit(s.lsb);
      out.leftToHost.push({
        name,
        where: naming.where(s.lsb, s.msb),
        leftToHostIn: toHostA ? "a" : "b",
        fixed: naming.show((fixedSide.fixed & mask) >> shift),
      });
      continue;
    }
    if (toHostA) continue;
    const va = a.fixed & mask,
      vb = b.fixed & mask;
    if (va === vb) continue;
    if (!s.bits) {
      out.numeric.push({
        name: s.name,
        where: naming.where(s.lsb, s.msb),
        a: naming.show(va >> shift),
        b: naming.show(vb >> shift),
      });
      continue;
    }
    for (let bit = s.lsb; bit <= s.msb; bit++) {
      const m = 1n << BigInt(bit);
      if ((va & m) === (vb & m)) continue;
      const named = { name: s.lsb === s.msb ? s.name : naming.bit(bit), where: naming.where(bit, bit) };
      ((va & m) !== 0n ? out.onlyInA : out.onlyInB).push(named);
    }
  }
}

const namedMsr = (index: number): NamedMsr => ({ index: hex32(index), name: msrName(index) });

function setDifference(a: ReadonlySet<number>, b: ReadonlySet<number>): NamedMsr[] {
  return [...a]
    .filter((x) => !b.has(x))
    .sort((x, y) => x - y)
    .map(namedMsr);
}

/**
 * Differences between A and B, each a profile (its fixed bits, and the fields it leaves to the host)
 * or a host capture (what it supports). Fields and names follow A's vendor policy. Deterministic order:
 * by leaf, subleaf, register, bit; MSRs by index.
 */
export function diffConfigs(a: Config, b: Config): ConfigDiff {
  const va = featureView(a),
    vb = featureView(b);
  const cpuid = emptySet();
  for (const { function: leaf, index: subleaf } of mergedLeaves(va, vb))
    for (const register of REGISTERS) {
      const ra = va.register(leaf, subleaf, register),
        rb = vb.register(leaf, subleaf, register);
      if (ra.fixed === rb.fixed && ra.hostBits === rb.hostBits) continue;
      const base = cpuidBitLocation(leaf, subleaf, register, 0).replace(/\[0\]$/, "");
      compareSlots(
        splitRegister(va.vendor, leaf, subleaf, register),
        { fixed: BigInt(ra.fixed >>> 0), hostBits: BigInt(ra.hostBits >>> 0) },
        { fixed: BigInt(rb.fixed >>> 0), hostBits: BigInt(rb.hostBits >>> 0) },
        {
          bit: (bit) => cpuidBitName(leaf, subleaf, register, bit),
          where: (lsb, msb) => bitsWhere(base, lsb, msb),
          show: (v) => hex32(Number(v)),
        },
        cpuid,
      );
    }

  const msrs = { ...emptySet(), msrsOnlyInA: [] as NamedMsr[], msrsOnlyInB: [] as NamedMsr[] };
  const msrIndices = [...new Set([...va.msrs.keys(), ...vb.msrs.keys()])].sort((x, y) => x - y);
  for (const index of msrIndices) {
    const ma = va.msrs.get(index),
      mb = vb.msrs.get(index);
    if (!ma || !mb) {
      (ma ? msrs.msrsOnlyInA : msrs.msrsOnlyInB).push(namedMsr(index));
      continue;
    }
    if (ma.fixed === mb.fixed && ma.hostBits === mb.hostBits) continue;
    const base = msrName(index);
    compareSlots(
      splitMsr(va.vendor, index),
      ma,
      mb,
      { bit: (bit) => msrBitName(index, bit), where: (lsb, msb) => bitsWhere(base, lsb, msb), show: hex64 },
      msrs,
    );
  }

  const unrestrictedIn =
    va.permitted === null && vb.permitted !== null ? "a" : vb.permitted === null && va.permitted !== null ? "b" : null;
  const permitted = {
    onlyInA: va.permitted && vb.permitted ? setDifference(va.permitted, vb.permitted) : [],
    onlyInB: va.permitted && vb.permitted ? setDifference(vb.permitted, va.permitted) : [],
    unrestrictedIn,
  } as ConfigDiff["permitted"];

  const vendor = va.vendor === vb.vendor ? null : { a: va.vendor, b: vb.vendor };
  const sets = [cpuid, msrs];
  const equal =
    vendor === null &&
    sets.every((s) => s.onlyInA.length + s.onlyInB.length + s.numeric.length + s.leftToHost.length === 0) &&
    msrs.msrsOnlyInA.length + msrs.msrsOnlyInB.length === 0 &&
    permitted.onlyInA.length + permitted.onlyInB.length === 0 &&
    unrestrictedIn === null;
  return { vendor, cpuid, msrs, permitted, equal };
}
