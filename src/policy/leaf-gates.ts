// Leaves that describe one feature: meaningless, and so zeroed, in a guest table without that feature.
// apply zeroes them (Cloud Hypervisor's own profiles do), baseline ignores disagreements in them, and
// verify checks that a guest sees them zero. The XSAVE leaf is gated per subleaf by XCR0 | IA32_XSS.
import { cpuidFeatureBit } from "../catalogue/index.ts";
import { cpuidBitIn, findCpuid, type CpuidEntry } from "../model/cpuid.ts";
import type { SubleafRange } from "./types.ts";

export const XSAVE_LEAF = 0xd;
/** The first 0xD subleaf that describes a component (0 and 1 describe XSAVE itself). */
export const FIRST_XSAVE_COMPONENT_SUBLEAF = 2;

export interface LeafGate {
  leaf: number;
  subleaves: SubleafRange;
  /** A catalogue feature, or "xsave-component": subleaf n is open when component n is in XCR0 | IA32_XSS. */
  gate: { feature: string } | "xsave-component";
  why: string;
}

export const LEAF_GATES: readonly LeafGate[] = [
  {
    leaf: XSAVE_LEAF,
    subleaves: { start: FIRST_XSAVE_COMPONENT_SUBLEAF, end: 63 },
    gate: "xsave-component",
    why: "0xD.n gives the size and offset of XSAVE component n; a guest whose XCR0/XSS mask lacks n must not see it (it would reveal AMX, CET or MPX the profile hides)",
  },
  {
    leaf: 0x1d,
    subleaves: { start: 0, end: 0xffffffff },
    gate: { feature: "amx_tile" },
    why: "AMX tile palettes exist only with AMX",
  },
  {
    leaf: 0x1e,
    subleaves: { start: 0, end: 0xffffffff },
    gate: { feature: "amx_tile" },
    why: "AMX TMUL information exists only with AMX",
  },
  {
    leaf: 0x24,
    subleaves: { start: 0, end: 0xffffffff },
    gate: { feature: "avx10" },
    why: "the AVX10 leaf exists only with AVX10",
  },
];

/** XSAVE components the guest may enable: XCR0 (0xD.0 EDX:EAX) | IA32_XSS (0xD.1 EDX:ECX). */
export function xsaveComponents(table: readonly CpuidEntry[]): bigint {
  const d0 = findCpuid(table, XSAVE_LEAF, 0),
    d1 = findCpuid(table, XSAVE_LEAF, 1);
  const pair = (lo = 0, hi = 0) => BigInt(lo >>> 0) | (BigInt(hi >>> 0) << 32n);
  return pair(d0?.eax, d0?.edx) | pair(d1?.ecx, d1?.edx);
}

export function leafGateOf(leaf: number, subleaf: number): LeafGate | undefined {
  return LEAF_GATES.find((g) => g.leaf === leaf && subleaf >= g.subleaves.start && subleaf <= g.subleaves.end);
}

/**
 * A predicate over (leaf, subleaf): false where `table` lacks what the entry describes. Built once per table;
 * entries outside every gate are always open.
 */
export function leafGatesOf(table: readonly CpuidEntry[]): (leaf: number, subleaf: number) => boolean {
  const components = xsaveComponents(table);
  const features = new Map<string, boolean>();
  const has = (name: string) => {
    let v = features.get(name);
    if (v === undefined) {
      v = cpuidBitIn(table, cpuidFeatureBit(name));
      features.set(name, v);
    }
    return v;
  };
  return (leaf, subleaf) => {
    const g = leafGateOf(leaf, subleaf);
    if (!g) return true;
    if (g.gate === "xsave-component") return subleaf < 64 && ((components >> BigInt(subleaf)) & 1n) === 1n;
    return has(g.gate.feature);
  };
}
