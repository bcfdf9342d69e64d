// What the guest check asks: every CPUID leaf/subleaf the config installs, the out-of-range probes that
// exercise KVM's fallback rules, every permitted MSR the host knows and a sample of the denied ones.
import { CPUID_FLAG_SIGNIFICANT_INDEX, compareCpuidKey, findCpuid, type CpuidEntry } from "../model/cpuid.ts";
import type { HostCapture } from "../model/host.ts";
import type { MsrFilter } from "../kvm/index.ts";
import { filterDecision, isX2apicMsr, knownMsrsOf } from "../profile/filter.ts";
import type { Vendor } from "../model/vendor.ts";
import { osMsrNeedsOfTable } from "../profile/guest-msrs.ts";
import type { ProbedConfig } from "./expect.ts";

export interface CpuidQuery {
  function: number;
  index: number;
}

export interface ProbePlan {
  cpuid: CpuidQuery[];
  msrs: number[];
}

/** Bounds on one guest run: the guest's query tables and result buffers are sized for this. */
export const MAX_CPUID_PROBES = 512;
export const MAX_MSR_PROBES = 512;

/** Hypervisor leaves probed whether or not the table has them: KVM's signature base and the next sub-class. */
const HYPERVISOR_PROBES: readonly number[] = [0x4000_0000, 0x4000_0001, 0x4000_0100];

function uniqueSorted(qs: readonly CpuidQuery[]): CpuidQuery[] {
  const seen = new Set<string>();
  const out: CpuidQuery[] = [];
  for (const q of [...qs].sort(compareCpuidKey)) {
    const key = `${q.function >>> 0}/${q.index >>> 0}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push({ function: q.function >>> 0, index: q.index >>> 0 });
    }
  }
  return out;
}

/** Queries just past each limit of the table: max basic, max extended, max hypervisor, max subleaf of indexed leaves. */
export function outOfRangeQueries(table: readonly CpuidEntry[]): CpuidQuery[] {
  const qs: CpuidQuery[] = [];
  for (const base of [0, 0x8000_0000, 0x4000_0000]) {
    const max = findCpuid(table, base)?.eax;
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
  for (const r of filter.ranges) {
    let inRun = false;
    for (let i = 0; i < r.nmsrs; i++) {
      const msr = (r.base + i) >>> 0;
      const denied = !isX2apicMsr(msr) && filterDecision(filter, msr, "read") === "deny";
      if (denied && !inRun) sample.push(msr);
      inRun = denied;
    }
  }
  return sample;
}

/** The MSRs a guest OS reads for the features `table` shows (write-only ones are checked against the filter instead). */
export function osMsrsToRead(table: readonly CpuidEntry[], vendor: Vendor): number[] {
  return osMsrNeedsOfTable(vendor, table)
    .needed.filter((n) => n.use.access !== "write-only")
    .map((n) => n.msr);
}

export function planProbe(
  config: ProbedConfig,
  host: Pick<HostCapture, "vendor" | "featureMsrs" | "msrIndexList">,
  permitted: readonly number[],
): ProbePlan {
  const installed = config.cpuid.map((e) => ({
    function: e.function,
    index: (e.flags & CPUID_FLAG_SIGNIFICANT_INDEX) !== 0 ? e.index : 0,
  }));
  // The table's own leaves come first so the bound never drops them in favour of an out-of-range probe.
  const table = uniqueSorted(installed);
  const keys = new Set(table.map((q) => `${q.function}/${q.index}`));
  const extra = uniqueSorted(outOfRangeQueries(config.cpuid)).filter((q) => !keys.has(`${q.function}/${q.index}`));
  const cpuid = uniqueSorted([...table, ...extra].slice(0, MAX_CPUID_PROBES));

  const known = new Set(knownMsrsOf(host));
  const permittedSet = new Set(permitted.map((m) => m >>> 0));
  // Priority: feature MSRs and the MSRs the config sets, then what a guest OS reads for the features the guest
  // sees (whatever the filter says: that is the point), then denied samples, then the other permitted ones.
  const first = [...host.featureMsrs.map((m) => m.index >>> 0), ...config.msrs.map((m) => m.index >>> 0)].sort(
    (a, b) => a - b,
  );
  const osReads = osMsrsToRead(config.cpuid, host.vendor);
  const denied = config.msrFilter ? deniedSample(config.msrFilter) : [];
  const rest = [...known].filter((m) => permittedSet.has(m)).sort((a, b) => a - b);
  const msrs: number[] = [];
  const chosen = new Set<number>();
  for (const m of [...first, ...osReads, ...denied, ...rest]) {
    if (chosen.has(m) || msrs.length >= MAX_MSR_PROBES) continue;
    chosen.add(m);
    msrs.push(m);
  }
  return { cpuid, msrs: msrs.sort((a, b) => a - b) };
}
