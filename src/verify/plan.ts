// What the guest check asks: every CPUID leaf/subleaf the config installs, the out-of-range probes that
// exercise KVM's fallback rules, every permitted MSR the host knows and a sample of the denied ones.
import { CPUID_FLAG_SIGNIFICANT_INDEX, compareCpuidKey, cpuidIndexOf, type CpuidEntry } from "../model/cpuid.ts";
import type { HostCapture } from "../model/host.ts";
import type { MsrFilter, MsrFilterRange } from "../kvm/index.ts";
import { filterDecision, isX2apicMsr, knownMsrSet, rangeDecidesAlone } from "../profile/filter.ts";
import type { Vendor } from "../model/vendor.ts";
import { osMsrNeedsOfTable } from "../profile/guest-msrs.ts";
import { msrValuesWanted, type ProbedConfig } from "./expect.ts";

export interface CpuidQuery {
  function: number;
  index: number;
}

export interface ProbePlan {
  cpuid: CpuidQuery[];
  msrs: number[];
  /** Per query of `msrs`: whether classify looks at its value (msrValuesWanted), so the guest records it. */
  msrValueWanted: boolean[];
}

/** Bounds on one guest run: the guest's query tables and result buffers are sized for this. */
export const MAX_CPUID_PROBES = 512;
export const MAX_MSR_PROBES = 512;

/** Hypervisor leaves probed whether or not the table has them: KVM's signature base and the next sub-class. */
const HYPERVISOR_PROBES: readonly number[] = [0x4000_0000, 0x4000_0001, 0x4000_0100];

/** The queries ascending by (function, index), each once, as u32. */
function uniqueSorted(qs: readonly CpuidQuery[]): CpuidQuery[] {
  const sorted = isSorted(qs) ? qs : [...qs].sort(compareCpuidKey);
  const out: CpuidQuery[] = [];
  let last: CpuidQuery | undefined;
  for (const q of sorted) {
    const fn = q.function >>> 0,
      index = q.index >>> 0;
    // u32 inputs sort as their keys do, so equal keys are adjacent
    if (last !== undefined && last.function === fn && last.index === index) continue;
    out.push((last = { function: fn, index }));
  }
  return out;
}

/** Whether compareCpuidKey already orders `qs` (an applied table is sorted: the common case, without a call per pair). */
function isSorted(qs: readonly CpuidQuery[]): boolean {
  for (let i = 1; i < qs.length; i++) {
    const a = qs[i - 1]!,
      b = qs[i]!;
    if (a.function > b.function || (a.function === b.function && a.index > b.index)) return false;
  }
  return true;
}

/** The queries of `b` not in `a`; both ascending and unique (uniqueSorted). */
function withoutKeysOf(b: readonly CpuidQuery[], a: readonly CpuidQuery[]): CpuidQuery[] {
  const out: CpuidQuery[] = [];
  let i = 0;
  for (const q of b) {
    while (i < a.length && compareCpuidKey(a[i]!, q) < 0) i++;
    if (i === a.length || compareCpuidKey(a[i]!, q) !== 0) out.push(q);
  }
  return out;
}

/** Two ascending lists with no query in common, as one ascending list. */
function mergeDisjoint(a: readonly CpuidQuery[], b: readonly CpuidQuery[]): CpuidQuery[] {
  const out: CpuidQuery[] = [];
  let i = 0,
    j = 0;
  while (i < a.length && j < b.length) out.push(compareCpuidKey(a[i]!, b[j]!) < 0 ? a[i++]! : b[j++]!);
  while (i < a.length) out.push(a[i++]!);
  while (j < b.length) out.push(b[j++]!);
  return out;
}

/** Queries just past each limit of the table: max basic, max extended, max hypervisor, max subleaf of indexed leaves. */
export function outOfRangeQueries(table: readonly CpuidEntry[]): CpuidQuery[] {
  const qs: CpuidQuery[] = [];
  const { find } = cpuidIndexOf(table); // findCpuid, through the index verify builds of the applied table anyway
  for (const base of [0, 0x8000_0000, 0x4000_0000]) {
    const max = find(base, 0)?.eax;
    if (max !== undefined && max >>> 0 < 0xffff_ffff && classOf(max >>> 0) === classOf(base))
      qs.push({ function: (max >>> 0) + 1, index: 0 });
    else qs.push({ function: base + 1, index: 0 });
  }
  const maxSubleaf = new Map<number, number>();
  for (const e of table) {
    if ((e.flags & CPUID_FLAG_SIGNIFICANT_INDEX) === 0) continue;
    maxSubleaf.set(e.function >>> 0, Math.max(maxSubleaf.get(e.function >>> 0) ?? 0, e.index >>> 0));
  }
  for (const [fn, max] of maxSubleaf) if (max < 0xffff_ffff) qs.push({ function: fn, index: max + 1 });
  for (const fn of HYPERVISOR_PROBES) qs.push({ function: fn, index: 0 });
  return qs;
}

function classOf(fn: number): number {
  return (fn & 0xf000_0000) >>> 0;
}

/** Denied MSRs of the filter, one per contiguous run (its first), in range order. */
export function deniedSample(filter: MsrFilter): number[] {
  const sample: number[] = [];
  for (let k = 0; k < filter.ranges.length; k++) {
    const r = filter.ranges[k]!;
    if (rangeDecidesAlone(filter, k, "read")) deniedRunStartsOfBitmap(r.base >>> 0, r.nmsrs, r.bitmap, sample);
    else deniedRunStartsOfRange(filter, r, sample);
  }
  return sample;
}

/** deniedSample's runs of one range whose bitmap alone decides its MSRs (rangeDecidesAlone): a clear bit denies. */
function deniedRunStartsOfBitmap(base: number, nmsrs: number, bitmap: Uint8Array, sample: number[]): void {
  let inRun = false;
  for (let i = 0; i < nmsrs; ) {
    const byte = bitmap[i >>> 3] ?? 0;
    // a whole byte allowed or denied: one step instead of eight (filters deny and allow long stretches)
    if ((i & 7) === 0 && i + 8 <= nmsrs && (byte === 0 || byte === 0xff)) {
      if (byte === 0 && !inRun) sample.push(base + i);
      inRun = byte === 0;
      i += 8;
      continue;
    }
    const denied = ((byte >>> (i & 7)) & 1) === 0;
    if (denied && !inRun) sample.push(base + i);
    inRun = denied;
    i++;
  }
}

/** deniedSample's runs of one range MSR by MSR, through filterDecision (ranges another range or the default decides). */
function deniedRunStartsOfRange(filter: MsrFilter, r: MsrFilterRange, sample: number[]): void {
  let inRun = false;
  for (let i = 0; i < r.nmsrs; i++) {
    const msr = (r.base + i) >>> 0;
    const denied = !isX2apicMsr(msr) && filterDecision(filter, msr, "read") === "deny";
    if (denied && !inRun) sample.push(msr);
    inRun = denied;
  }
}

/** The MSRs a guest OS reads for the features `table` shows (write-only ones are checked against the filter instead). */
export function osMsrsToRead(table: readonly CpuidEntry[], vendor: Vendor): number[] {
  const out: number[] = [];
  for (const n of osMsrNeedsOfTable(vendor, table).needed) if (n.use.access !== "write-only") out.push(n.msr);
  return out;
}

export function planProbe(
  config: ProbedConfig,
  host: Pick<HostCapture, "vendor" | "featureMsrs" | "msrIndexList">,
  permitted: readonly number[],
): ProbePlan {
  const installed: CpuidQuery[] = [];
  for (const e of config.cpuid)
    installed.push({ function: e.function, index: (e.flags & CPUID_FLAG_SIGNIFICANT_INDEX) !== 0 ? e.index : 0 });
  // The table's own leaves come first so the bound never drops them in favour of an out-of-range probe.
  const table = uniqueSorted(installed);
  const extra = withoutKeysOf(uniqueSorted(outOfRangeQueries(config.cpuid)), table);
  const cpuid =
    table.length >= MAX_CPUID_PROBES
      ? table.slice(0, MAX_CPUID_PROBES)
      : mergeDisjoint(table, extra.slice(0, MAX_CPUID_PROBES - table.length));

  // Priority: feature MSRs and the MSRs the config sets, then what a guest OS reads for the features the guest
  // sees (whatever the filter says: that is the point), then denied samples, then the other permitted ones.
  const first: number[] = [];
  for (const m of host.featureMsrs) first.push(m.index >>> 0);
  for (const m of config.msrs) first.push(m.index >>> 0);
  const osReads = osMsrsToRead(config.cpuid, host.vendor);
  const denied = config.msrFilter ? deniedSample(config.msrFilter) : [];
  const known = knownMsrSet(host);
  const rest: number[] = [];
  for (const m of permitted) if (known.has(m >>> 0)) rest.push(m >>> 0);
  const lists = [first, osReads, denied, rest];
  let total = 0;
  for (const l of lists) total += l.length;
  if (total <= MAX_MSR_PROBES) return withValuesWanted(config, cpuid, sortedUnique(lists, total));
  // Over the bound: take them in priority order (each list ascending, denied samples in range order).
  first.sort((a, b) => a - b);
  rest.sort((a, b) => a - b);
  const msrs: number[] = [];
  const chosen = new Set<number>();
  for (const l of lists)
    for (const m of l) {
      if (msrs.length >= MAX_MSR_PROBES) break;
      if (chosen.has(m)) continue;
      chosen.add(m);
      msrs.push(m);
    }
  return withValuesWanted(
    config,
    cpuid,
    msrs.sort((a, b) => a - b),
  );
}

function withValuesWanted(config: ProbedConfig, cpuid: CpuidQuery[], msrs: number[]): ProbePlan {
  return { cpuid, msrs, msrValueWanted: msrValuesWanted(config, msrs) };
}

/** The distinct numbers of `lists` (`total` numbers in all), ascending. */
function sortedUnique(lists: readonly (readonly number[])[], total: number): number[] {
  // a typed array sorts numerically and natively: no comparator calls in a cold process
  const all = new Float64Array(total);
  let at = 0;
  for (const l of lists) for (const m of l) all[at++] = m;
  all.sort();
  const out: number[] = [];
  for (let i = 0; i < total; i++) if (i === 0 || all[i] !== all[i - 1]) out.push(all[i]!);
  return out;
}
