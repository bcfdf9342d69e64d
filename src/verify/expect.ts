// The promise: what a guest running the applied vCPU config should see, modelled on KVM's own lookup
// (kvm_cpuid and get_out_of_range_cpuid_entry in arch/x86/kvm/cpuid.c; kvm_msr_allowed for the filter).
import { cpuidIndexOf, type CpuidEntry } from "../model/cpuid.ts";
import type { HostCapture } from "../model/host.ts";
import type { Vendor } from "../model/vendor.ts";
import { MSR_FILTER_DEFAULT_DENY, type MsrFilter } from "../kvm/index.ts";
import { filterDecision } from "../profile/filter.ts";
import { MSR_CPUID_GATES, msrGateOpen } from "./msr-gates.ts";

export interface CpuidRegs {
  eax: number;
  ebx: number;
  ecx: number;
  edx: number;
}

/** Which rule of KVM's lookup produced the answer. */
export type CpuidRule =
  | "entry" // an entry of the table matched
  | "max-basic" // Intel: function above its class maximum, answered from the max basic leaf
  | "zero" // nothing matched: all zeros
  | "topology-undefined-subleaf"; // 0xB/0x1F subleaf beyond the table: ECX[7:0] = index, EDX from subleaf 1

export interface CpuidResolution {
  regs: CpuidRegs;
  rule: CpuidRule;
  /** The entry whose data was returned (its runtime bits apply), or null. */
  source: { function: number; index: number } | null;
}

/** The subset of a vCPU config verify needs (applyProfile's VcpuConfig has it). */
export interface ProbedConfig {
  cpuid: CpuidEntry[];
  msrs: { index: number; value: bigint }[];
  msrFilter: MsrFilter | null;
}

const ZERO: CpuidRegs = { eax: 0, ebx: 0, ecx: 0, edx: 0 };

/** kvm_find_cpuid_entry_index: the first entry with the function whose index matches or is not significant. */
const findEntry = (table: readonly CpuidEntry[], fn: number, index: number) => cpuidIndexOf(table).find(fn, index);

/** kvm_find_cpuid_entry (index not significant): the first entry with the function. */
const firstEntry = (table: readonly CpuidEntry[], fn: number) => cpuidIndexOf(table).first(fn);

/** The leaf whose EAX bounds `fn`'s class: basic, each 0x100-wide hypervisor sub-class, extended, Centaur. */
export function classBaseOf(fn: number): number {
  const f = fn >>> 0;
  if (f >= 0x4000_0000 && f <= 0x4fff_ffff) return (f & 0xffff_ff00) >>> 0;
  if (f >= 0xc000_0000) return 0xc000_0000;
  return (f & 0x8000_0000) >>> 0;
}

/** How KVM answers CPUID(fn, index) from `table`; `vendor` is the vendor leaf 0 of the table names. */
export function resolveCpuid(table: readonly CpuidEntry[], vendor: Vendor, fn: number, index: number): CpuidResolution {
  let func = fn >>> 0;
  const idx = index >>> 0;
  let entry = findEntry(table, func, idx);
  let rule: CpuidRule = "entry";
  if (!entry) {
    const basic = firstEntry(table, 0);
    const cls = firstEntry(table, classBaseOf(func));
    // AMD answers zeros; Intel answers the max basic leaf, with the requested subleaf.
    if (basic && vendor === "intel" && !(cls && func <= cls.eax >>> 0)) {
      func = basic.eax >>> 0;
      entry = findEntry(table, func, idx);
      rule = "max-basic";
    }
  }
  if (entry) {
    return {
      regs: { eax: entry.eax >>> 0, ebx: entry.ebx >>> 0, ecx: entry.ecx >>> 0, edx: entry.edx >>> 0 },
      rule,
      source: { function: func, index: idx },
    };
  }
  if (func === 0xb || func === 0x1f) {
    const sub1 = findEntry(table, func, 1);
    if (sub1)
      return {
        regs: { eax: 0, ebx: 0, ecx: idx & 0xff, edx: sub1.edx >>> 0 },
        rule: "topology-undefined-subleaf",
        source: null,
      };
  }
  return { regs: { ...ZERO }, rule: "zero", source: null };
}

export function expectedCpuid(table: readonly CpuidEntry[], vendor: Vendor, fn: number, index: number): CpuidRegs {
  return resolveCpuid(table, vendor, fn, index).regs;
}

export type MsrExpectation =
  | { kind: "value"; value: bigint } // the config sets it: the guest reads exactly this
  | { kind: "readable" } // permitted and known to KVM, value not promised
  | { kind: "fault"; why: "filter" | "cpuid-gate" }; // RDMSR takes #GP

/** What a guest RDMSR of `index` should do under `config` on `host`. */
export function expectedMsr(
  config: ProbedConfig,
  _host: Pick<HostCapture, "featureMsrs" | "msrIndexList">,
  index: number,
): MsrExpectation {
  const msr = index >>> 0;
  return faultOf(config, msr) ?? readExpectation(config.msrs.find((m) => m.index >>> 0 === msr));
}

/**
 * expectedMsr for each MSR of one config, with the values it sets indexed once: verify asks for some 200 MSRs,
 * and a scan of the set values for each was a tenth of a cold classify.
 */
export function msrExpectationsOf(config: ProbedConfig): (index: number) => MsrExpectation {
  const set = new Map<number, { value: bigint }>();
  for (const m of config.msrs) if (!set.has(m.index >>> 0)) set.set(m.index >>> 0, m);
  return (index) => {
    const msr = index >>> 0;
    return faultOf(config, msr) ?? readExpectation(set.get(msr));
  };
}

/**
 * Per MSR of `msrs`, whether classify looks at the value a guest reads: where its expectation is not just "readable",
 * i.e. to compare it with the value the config sets, or to show it when an MSR that should fault reads. Made without
 * the expectation objects: the plan asks this for some 200 MSRs in a cold process.
 */
export function msrValuesWanted(config: ProbedConfig, msrs: readonly number[]): boolean[] {
  // faultWhy's rule by sets: the few MSRs set or behind a closed gate, then the filter only if it can deny anything
  // (the host profile's has no range and allows by default)
  const always = new Set<number>();
  for (const m of config.msrs) always.add(m.index >>> 0);
  for (const g of MSR_CPUID_GATES) if (!msrGateOpen(config.cpuid, g.index)) always.add(g.index >>> 0);
  const f = config.msrFilter;
  const filter = f !== null && (f.ranges.length > 0 || (f.flags & MSR_FILTER_DEFAULT_DENY) !== 0) ? f : null;
  const wanted: boolean[] = [];
  for (const m of msrs)
    wanted.push(always.has(m >>> 0) || (filter !== null && filterDecision(filter, m, "read") === "deny"));
  return wanted;
}

/** The fault a guest RDMSR of `msr` takes under `config`, or undefined when it reads. */
function faultOf(config: ProbedConfig, msr: number): MsrExpectation | undefined {
  const why = faultWhy(config, msr);
  return why === undefined ? undefined : { kind: "fault", why };
}

function faultWhy(config: ProbedConfig, msr: number): "filter" | "cpuid-gate" | undefined {
  if (config.msrFilter && filterDecision(config.msrFilter, msr, "read") === "deny") return "filter";
  // KVM refuses guest access to some MSRs unless a CPUID bit of the guest table enables them.
  if (!msrGateOpen(config.cpuid, msr)) return "cpuid-gate";
  return undefined;
}

/** What a readable MSR reads: the value the config sets (the first entry for it), or any value. */
function readExpectation(set: { value: bigint } | undefined): MsrExpectation {
  return set ? { kind: "value", value: BigInt.asUintN(64, set.value) } : { kind: "readable" };
}
