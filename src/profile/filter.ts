// The KVM MSR filter: built from the host's known MSRs and the profile's permitted list,
// plus a pure evaluator with KVM's exact lookup semantics (kvm_msr_allowed in x86.c).
import { InputError } from "../errors.ts";
import {
  MSR_FILTER_DEFAULT_ALLOW,
  MSR_FILTER_DEFAULT_DENY,
  MSR_FILTER_MAX_RANGE_MSRS,
  MSR_FILTER_MAX_RANGES,
  MSR_FILTER_READ,
  MSR_FILTER_WRITE,
  bitmapBytes,
  type MsrFilter,
  type MsrFilterRange,
} from "../kvm/index.ts";
import type { HostCapture } from "../model/host.ts";
import { hex32 } from "../model/hex.ts";

export type MsrAccess = "read" | "write";
export type FilterDecision = "allow" | "deny";

/** KVM never filters the x2APIC MSRs; a range must not touch them either. */
export const X2APIC_MSRS = { first: 0x800, last: 0x8ff } as const;

export function isX2apicMsr(msr: number): boolean {
  return msr >= X2APIC_MSRS.first && msr <= X2APIC_MSRS.last;
}

/**
 * MSRs a guest can reach that KVM_GET_MSR_INDEX_LIST does not list: KVM emulates the MTRRs
 * (kvm_mtrr_valid) but does not save them through the index list, so they are "known" only from this table.
 */
export const UNLISTED_KNOWN_MSRS: readonly { first: number; last: number; name: string }[] = [
  { first: 0xfe, last: 0xfe, name: "IA32_MTRRCAP" },
  // KVM has KVM_NR_VAR_MTRR = 8 variable ranges: 0x210.. would #GP in a guest (seen by verify).
  { first: 0x200, last: 0x20f, name: "IA32_MTRR_PHYSBASE0..PHYSMASK7" },
  { first: 0x250, last: 0x250, name: "IA32_MTRR_FIX64K_00000" },
  { first: 0x258, last: 0x259, name: "IA32_MTRR_FIX16K_80000/A0000" },
  { first: 0x268, last: 0x26f, name: "IA32_MTRR_FIX4K_C0000..F8000" },
  { first: 0x2ff, last: 0x2ff, name: "IA32_MTRR_DEF_TYPE" },
];

/** Every MSR index the host's KVM knows: feature MSRs, the save/restore index list and the unlisted table. */
export function knownMsrSet(host: Pick<HostCapture, "featureMsrs" | "msrIndexList">): Set<number> {
  const known = new Set<number>();
  for (const m of host.featureMsrs) known.add(m.index >>> 0);
  for (const i of host.msrIndexList) known.add(i >>> 0);
  for (const block of UNLISTED_KNOWN_MSRS) for (let i = block.first; i <= block.last; i++) known.add(i);
  return known;
}

/** knownMsrSet as a sorted list. */
export function knownMsrsOf(host: Pick<HostCapture, "featureMsrs" | "msrIndexList">): number[] {
  return [...knownMsrSet(host)].sort((a, b) => a - b);
}

/** KVM computes a range's end as a u32 (base + nmsrs), so a range holding the last index wraps and matches nothing. */
export const UNFILTERABLE_MSR = 0xffffffff;

/** The MSRs the filter must deny: known, not permitted, outside the x2APIC block (KVM never filters those). Sorted. */
export function deniedMsrs(knownMsrs: readonly number[], permitted: readonly number[]): number[] {
  const allowed = new Set(permitted.map((m) => m >>> 0));
  const denied = new Set<number>();
  for (const m of knownMsrs) {
    const msr = m >>> 0;
    if (!allowed.has(msr) && !isX2apicMsr(msr)) denied.add(msr);
  }
  return [...denied].sort((a, b) => a - b);
}

/** True when a and b may share one range: within the size limit and on the same side of the x2APIC block. */
function fitsOneRange(first: number, last: number): boolean {
  if (last - first + 1 > MSR_FILTER_MAX_RANGE_MSRS) return false;
  return !(first < X2APIC_MSRS.first && last > X2APIC_MSRS.last);
}

/**
 * Groups sorted denied MSRs into the fewest spans (greedy from the left is optimal for covering
 * points with bounded intervals and a barrier). Each span is tight: from its first to its last denied MSR.
 */
export function denialSpans(denied: readonly number[]): { first: number; last: number }[] {
  const spans: { first: number; last: number }[] = [];
  for (const msr of denied) {
    const cur = spans[spans.length - 1];
    if (cur && fitsOneRange(cur.first, msr)) cur.last = msr;
    else spans.push({ first: msr, last: msr });
  }
  return spans;
}

/**
 * A filter with DEFAULT_ALLOW whose ranges deny (read and write) exactly the known MSRs not permitted.
 * Throws InputError when that set needs more than KVM's 16 ranges: a wider or narrower filter would be wrong.
 */
export function buildMsrFilter(knownMsrs: readonly number[], permitted: readonly number[]): MsrFilter {
  const denied = deniedMsrs(knownMsrs, permitted);
  if (denied[denied.length - 1] === UNFILTERABLE_MSR)
    throw new InputError(
      `MSR filter: ${hex32(UNFILTERABLE_MSR)} cannot be denied (a KVM range ending at 2^32 wraps and matches nothing); permit it`,
    );
  const spans = denialSpans(denied);
  if (spans.length > MSR_FILTER_MAX_RANGES) {
    throw new InputError(
      `MSR filter: the ${denied.length} denied MSRs (${hex32(denied[0]!)}..${hex32(denied[denied.length - 1]!)}) need ${spans.length} ranges, KVM allows at most ${MSR_FILTER_MAX_RANGES}; permit more MSRs or fewer scattered ones`,
    );
  }
  const ranges: MsrFilterRange[] = spans.map(({ first, last }) => {
    const nmsrs = last - first + 1;
    // 1 = allow: every bit of the span set, padding bits past nmsrs clear, then the denied ones cleared
    const bitmap = new Uint8Array(bitmapBytes(nmsrs)).fill(0xff, 0, nmsrs >>> 3);
    if (nmsrs & 7) bitmap[nmsrs >>> 3] = (1 << (nmsrs & 7)) - 1;
    return { flags: MSR_FILTER_READ | MSR_FILTER_WRITE, base: first, nmsrs, bitmap };
  });
  // denied and spans are both sorted, so one pass clears each denied bit in its span
  let k = 0;
  for (const msr of denied) {
    while (msr > spans[k]!.last) k++;
    const i = msr - spans[k]!.first;
    ranges[k]!.bitmap[i >>> 3]! &= ~(1 << (i & 7));
  }
  return { flags: MSR_FILTER_DEFAULT_ALLOW, ranges };
}

const ACCESS_FLAG: Record<MsrAccess, number> = { read: MSR_FILTER_READ, write: MSR_FILTER_WRITE };

/** What KVM decides for a guest RDMSR/WRMSR of `msr` under `filter` (kvm_msr_allowed). */
export function filterDecision(filter: MsrFilter, msr: number, access: MsrAccess): FilterDecision {
  const index = msr >>> 0;
  if (isX2apicMsr(index)) return "allow";
  for (const r of filter.ranges) {
    if (r.nmsrs === 0) continue; // KVM drops empty ranges when the filter is set
    // u32 arithmetic as in KVM: a range whose end wraps past 2^32 matches nothing
    const end = (r.base + r.nmsrs) >>> 0;
    if (index >= r.base >>> 0 && index < end && (r.flags & ACCESS_FLAG[access]) !== 0) {
      const bit = index - (r.base >>> 0);
      const byte = r.bitmap[bit >>> 3] ?? 0;
      return (byte >>> (bit & 7)) & 1 ? "allow" : "deny";
    }
  }
  return (filter.flags & MSR_FILTER_DEFAULT_DENY) !== 0 ? "deny" : "allow";
}

/**
 * Whether range `k`'s own bitmap decides `access` to each of its MSRs (a clear bit denies), as filterDecision
 * would: the range is not empty, does not wrap, filters `access`, holds no x2APIC MSR, and no earlier range that
 * filters `access` overlaps it. Lets a caller read the bitmap instead of asking MSR by MSR.
 */
export function rangeDecidesAlone(filter: MsrFilter, k: number, access: MsrAccess): boolean {
  const counts = (r: MsrFilterRange) =>
    r.nmsrs > 0 && (r.base >>> 0) + r.nmsrs < 0x1_0000_0000 && (r.flags & ACCESS_FLAG[access]) !== 0;
  const r = filter.ranges[k]!;
  if (!counts(r)) return false;
  const first = r.base >>> 0,
    end = first + r.nmsrs;
  if (first <= X2APIC_MSRS.last && end > X2APIC_MSRS.first) return false;
  for (let j = 0; j < k; j++) {
    const o = filter.ranges[j]!;
    if (counts(o) && o.base >>> 0 < end && first < (o.base >>> 0) + o.nmsrs) return false;
  }
  return true;
}
