// apply: profile + host capture -> what a VMM configures on one vCPU (CPUID table, feature-MSR values,
// MSR filter) plus the compatibility report. Pure and deterministic; lookups are precomputed per
// profile, policy and host (WeakMap caches, reached through one canonical copy per content, so a
// fresh object with content seen before hits them too), so inputs must not be mutated after a first
// call (build a new Profile or HostCapture object instead).
import { InputError } from "../errors.ts";
import { KVM_MAX_CPUID_ENTRIES, type MsrFilter } from "../kvm/index.ts";
import {
  CPUID_FLAG_SIGNIFICANT_INDEX,
  REGISTERS,
  isIndexedLeaf,
  sortCpuid,
  type CpuidEntry,
  type Register,
} from "../model/cpuid.ts";
import { hex32 } from "../model/hex.ts";
import type { HostCapture } from "../model/host.ts";
import type { Vendor } from "../model/vendor.ts";
import type { CpuidAdjustment, MsrAdjustment, Profile } from "../model/profile.ts";
import { memoByKey, memoByObject } from "../model/memo.ts";
import { fieldMask32 } from "../fields/split.ts";
import type { CpuidField } from "../policy/index.ts";
import { FIRST_XSAVE_COMPONENT_SUBLEAF, leafGatesOf, nestedCpuidFieldsOf, XSAVE_LEAF } from "../policy/index.ts";
import { checkCompatibility, type CompatReport } from "./compat.ts";
import { ContentCache } from "./content-cache.ts";
import { buildMsrFilter, knownMsrsOf } from "./filter.ts";
import { guestMsrProblems } from "./guest-msrs.ts";
import { isHypervMsr } from "./hyperv-msrs.ts";
import { checkTopology, setTopologyFields } from "./topology.ts";
import { msrsToSave } from "./msrs-to-save.ts";
import { isVmxCapabilityMsr, vcpuMsrs, type VcpuMsr } from "./vcpu-msrs.ts";

export type { CompatReport } from "./compat.ts";
export type { VcpuMsr } from "./vcpu-msrs.ts";

export interface ApplyOptions {
  /** The vCPU's id, which becomes its APIC id (default 0). */
  vcpuId?: number;
  /** vCPUs in the VM: one socket, one thread per core (default 1). */
  vcpuCount?: number;
  /** Keep VMX/SVM bits and VMX capability MSRs (default false). */
  nested?: boolean;
  /** Permit the Hyper-V synthetic MSRs (default false). */
  hyperv?: boolean;
  /** Build the MSR filter (default true); false gives msrFilter: null. */
  msrFilter?: boolean;
  /**
   * Refuse (InputError) a profile whose permitted MSRs deny what a guest OS uses for an advertised feature,
   * or permit a hidden feature's MSRs (default true). verify sets it false to show in a real guest what such
   * a profile does.
   */
  checkGuestMsrs?: boolean;
}

export interface VcpuConfig {
  cpuid: CpuidEntry[];
  msrs: VcpuMsr[];
  msrFilter: MsrFilter | null;
  /**
   * The MSRs a VMM saves and restores for this guest (snapshot, migration): the host's
   * KVM_GET_MSR_INDEX_LIST ∩ the profile's permitted MSRs (all of the list for the host profile). Sorted.
   */
  msrsToSave: number[];
  report: CompatReport;
}

/** What apply needs besides the inputs; injectable so the logic can be tested with small hand-made policies. */
export interface ApplyContext {
  /** The CPUID fields a guest sees only with nesting: apply clears them unless nested is asked for. */
  nestedFields: () => readonly CpuidField[];
  check: (profile: Profile, host: HostCapture, options: { nested?: boolean }) => CompatReport;
}

/**
 * CPUID function classes, each with its own max-leaf entry (EAX of the class's first function).
 * Entries above a class's max are dropped so the table never offers what its max leaf denies;
 * a max above the highest present entry is left alone (in-range missing leaves read as zero on both vendors).
 */
export const CPUID_CLASSES: readonly { base: number; name: string }[] = [
  { base: 0x00000000, name: "basic" },
  { base: 0x40000000, name: "hypervisor" },
  { base: 0x80000000, name: "extended" },
  { base: 0xc0000000, name: "centaur" },
];

const classBaseOf = (fn: number) => (fn & 0xf0000000) >>> 0;

// ---- precomputed lookups ----

interface CompiledProfile {
  cpuidByLeaf: Map<number, readonly CpuidAdjustment[]>;
  msrs: Map<number, MsrAdjustment>;
  permitted: readonly number[];
}

interface RegisterMask {
  start: number;
  end: number;
  register: Register;
  mask: number;
}

const compileProfile = memoByObject((p: Profile): CompiledProfile => {
  const cpuidByLeaf = new Map<number, CpuidAdjustment[]>();
  for (const a of p.cpuid) {
    const list = cpuidByLeaf.get(a.leaf) ?? [];
    list.push(a);
    cpuidByLeaf.set(a.leaf, list);
  }
  return {
    cpuidByLeaf,
    msrs: new Map(p.msrs.map((m) => [m.index, m])),
    permitted: [...new Set(p.permittedMsrs)].sort((a, b) => a - b),
  };
});

/** Per leaf, the bits of policy fields marked nested (VMX/SVM), cleared at apply time unless nested. */
const nestedMasksOf = memoByObject((ctx: ApplyContext): Map<number, RegisterMask[]> => {
  const m = new Map<number, RegisterMask[]>();
  for (const f of ctx.nestedFields()) {
    const list = m.get(f.leaf) ?? [];
    list.push({ start: f.subleaves.start, end: f.subleaves.end, register: f.register, mask: fieldMask32(f) });
    m.set(f.leaf, list);
  }
  return m;
});

interface CompiledHost {
  cpuid: readonly CpuidEntry[];
  known: readonly number[];
}
const compileHost = memoByObject(
  (h: HostCapture): CompiledHost => ({ cpuid: sortCpuid(h.cpuid), known: knownMsrsOf(h) }),
);

// ---- CPUID ----

function adjustEntry(
  host: CpuidEntry,
  profile: Profile,
  adjustments: readonly CpuidAdjustment[] | undefined,
): CpuidEntry {
  const flags = isIndexedLeaf(host.function) ? host.flags | CPUID_FLAG_SIGNIFICANT_INDEX : host.flags;
  const out: CpuidEntry = {
    function: host.function,
    index: host.index,
    flags: flags >>> 0,
    eax: 0,
    ebx: 0,
    ecx: 0,
    edx: 0,
  };
  for (const r of REGISTERS) {
    if (profile.kind === "host") {
      out[r] = host[r];
      continue;
    }
    const a = adjustments?.find(
      (x) => x.register === r && host.index >= x.subleaf.start && host.index <= x.subleaf.end,
    );
    out[r] = a ? ((host[r] & a.mask) | a.replacements) >>> 0 : 0;
  }
  return out;
}

function clearNested(entry: CpuidEntry, masks: readonly RegisterMask[] | undefined): void {
  if (!masks) return;
  for (const m of masks)
    if (entry.index >= m.start && entry.index <= m.end) entry[m.register] = (entry[m.register] & ~m.mask) >>> 0;
}

/** Drops entries above their class's max leaf, and whole classes whose max-leaf entry is absent. */
function withinMaxLeaves(entries: readonly CpuidEntry[]): CpuidEntry[] {
  const max = new Map<number, number>();
  for (const c of CPUID_CLASSES) {
    const head =
      entries.find((e) => e.function === c.base && e.index === 0) ?? entries.find((e) => e.function === c.base);
    if (head) max.set(c.base, head.eax);
  }
  return entries.filter((e) => {
    const base = classBaseOf(e.function);
    const m = max.get(base);
    return m !== undefined && (e.function === base || e.function <= m);
  });
}

/** Legacy area and XSAVE header: the smallest XSAVE area (0xD.0 ECX with XCR0 = x87 | SSE). */
const XSAVE_LEGACY_AND_HEADER = 0x240;

/**
 * Zeroes the leaves that describe what the guest table lacks (leaf-gates.ts: XSAVE components outside
 * XCR0 | XSS, AMX and AVX10 leaves without the feature), and sets 0xD.0 ECX, the XSAVE area for every
 * component XCR0 allows, from the components left: the host's value would reveal the ones hidden.
 */
function zeroHiddenLeaves(table: CpuidEntry[]): void {
  const open = leafGatesOf(table);
  for (const e of table) if (!open(e.function, e.index)) e.eax = e.ebx = e.ecx = e.edx = 0;
  const d0 = table.find((e) => e.function === XSAVE_LEAF && e.index === 0);
  if (!d0) return;
  const xcr0 = BigInt(d0.eax >>> 0) | (BigInt(d0.edx >>> 0) << 32n);
  let size = XSAVE_LEGACY_AND_HEADER;
  for (const e of table)
    if (
      e.function === XSAVE_LEAF &&
      e.index >= FIRST_XSAVE_COMPONENT_SUBLEAF &&
      e.index < 64 &&
      ((xcr0 >> BigInt(e.index)) & 1n) === 1n
    )
      size = Math.max(size, e.eax + e.ebx);
  d0.ecx = size >>> 0;
}

/** The table before per-vCPU fields: adjusted, nested bits cleared, trimmed to the max leaves, checked against KVM's limit. */
function baseCpuid(ctx: ApplyContext, profile: Profile, host: CompiledHost, nested: boolean): CpuidEntry[] {
  const compiled = compileProfile(profile);
  const nestedBits = nestedMasksOf(ctx);
  const adjusted: CpuidEntry[] = [];
  for (const h of host.cpuid) {
    const e = adjustEntry(h, profile, compiled.cpuidByLeaf.get(h.function));
    if (!nested) clearNested(e, nestedBits.get(h.function));
    adjusted.push(e);
  }
  if (profile.kind !== "host") zeroHiddenLeaves(adjusted);
  const table = withinMaxLeaves(adjusted);
  if (table.length > KVM_MAX_CPUID_ENTRIES)
    throw new InputError(
      `CPUID table has ${table.length} entries, KVM accepts at most ${KVM_MAX_CPUID_ENTRIES} (highest leaf ${hex32(table[table.length - 1]!.function)})`,
    );
  return table;
}

// ---- MSR filter ----

/** The profile's permitted MSRs, minus Hyper-V's unless hyperv and the VMX capability MSRs unless nested. */
export function effectivePermittedMsrs(
  permitted: readonly number[],
  options: { hyperv?: boolean; nested?: boolean },
): number[] {
  return permitted.filter((m) => (options.hyperv || !isHypervMsr(m)) && (options.nested || !isVmxCapabilityMsr(m)));
}

/**
 * The one answer to "which MSRs may the guest touch": under the host profile every MSR the host knows (it hides
 * nothing), otherwise the profile's permitted list (Hyper-V's and the VMX capability MSRs only when asked for).
 */
export function guestPermittedMsrs(
  profile: Profile,
  known: readonly number[],
  options: { hyperv?: boolean; nested?: boolean },
): readonly number[] {
  return profile.kind === "host" ? known : effectivePermittedMsrs(compileProfile(profile).permitted, options);
}

function guestFilter(profile: Profile, host: CompiledHost, options: ApplyOptions): MsrFilter | null {
  if (options.msrFilter === false) return null;
  return buildMsrFilter(host.known, guestPermittedMsrs(profile, host.known, options));
}

// ---- per (context, profile, host, options) cache ----
// Everything but the per-vCPU fields depends only on these, so a VMM applying one profile to many vCPUs
// pays for the adjustment, the filter and the report once. Callers get fresh copies, never the cached objects.

interface Prepared {
  cpuid: CpuidEntry[] | InputError;
  msrs: VcpuMsr[];
  filter: MsrFilter | null | InputError;
  toSave: number[];
  report: CompatReport;
}

const prepared = new WeakMap<ApplyContext, WeakMap<Profile, WeakMap<HostCapture, Map<string, Prepared>>>>();

function attempt<T>(f: () => T): T | InputError {
  try {
    return f();
  } catch (e) {
    if (e instanceof InputError) return e;
    throw e;
  }
}

function prepare(
  ctx: ApplyContext,
  profile: Profile,
  host: HostCapture,
  nested: boolean,
  options: ApplyOptions,
): Prepared {
  let byProfile = prepared.get(ctx);
  if (!byProfile) prepared.set(ctx, (byProfile = new WeakMap()));
  let byHost = byProfile.get(profile);
  if (!byHost) byProfile.set(profile, (byHost = new WeakMap()));
  let byOptions = byHost.get(host);
  if (!byOptions) byHost.set(host, (byOptions = new Map()));
  const key = `${nested}/${options.hyperv ?? false}/${options.msrFilter ?? true}`;
  let p = byOptions.get(key);
  if (!p) {
    const compiledHost = compileHost(host);
    p = {
      cpuid: attempt(() => baseCpuid(ctx, profile, compiledHost, nested)),
      msrs: vcpuMsrs(host.featureMsrs, compileProfile(profile).msrs, profile.kind, nested),
      filter: attempt(() => guestFilter(profile, compiledHost, options)),
      // the host profile permits every MSR the host knows, so it saves the whole index list
      toSave: msrsToSave(host.msrIndexList, guestPermittedMsrs(profile, compiledHost.known, options)),
      report: ctx.check(profile, host, { nested }),
    };
    byOptions.set(key, p);
  }
  return p;
}

const copyFilter = (f: MsrFilter): MsrFilter => ({
  flags: f.flags,
  ranges: f.ranges.map((r) => ({ ...r, bitmap: r.bitmap.slice() })),
});

// ---- entry points ----

export function applyProfileWith(
  ctx: ApplyContext,
  profile: Profile,
  host: HostCapture,
  options: ApplyOptions = {},
): VcpuConfig {
  const vcpuId = options.vcpuId ?? 0;
  const vcpuCount = options.vcpuCount ?? 1;
  const nested = options.nested ?? false;
  checkTopology({ vcpuId, vcpuCount });
  const p = prepare(ctx, profile, host, nested, options);
  if (p.cpuid instanceof InputError) throw p.cpuid;
  if (p.filter instanceof InputError) throw p.filter;
  const topology = { vcpuId, vcpuCount };
  const cpuid = p.cpuid.map((e) => {
    const copy = { ...e };
    setTopologyFields(copy, rulesVendor(profile, host), topology);
    return copy;
  });
  return {
    cpuid,
    msrs: p.msrs.map((m) => ({ ...m })),
    msrFilter: p.filter && copyFilter(p.filter),
    msrsToSave: [...p.toSave],
    report: structuredClone(p.report),
  };
}

/** The apply context of a vendor: its policy and the compatibility checker (one per vendor). */
export const applyContextFor = memoByKey(
  (vendor: string): ApplyContext => ({
    nestedFields: () => nestedCpuidFieldsOf(vendor as Vendor),
    check: checkCompatibility,
  }),
);
/**
 * Whose rules apply: the profile's vendor, except for a host profile, whose vendor is a placeholder (it runs
 * on any host): the guest gets the host's own CPU, so the host's vendor decides topology and nested bits.
 */
const rulesVendor = (profile: Profile, host: HostCapture): Vendor =>
  profile.kind === "host" ? host.vendor : profile.vendor;

/** The refusal for a profile unsafe for a guest OS (guest-msrs.ts), or null; once per profile object. */
export const guestMsrRefusal = memoByObject((profile: Profile): InputError | null => {
  const problems = guestMsrProblems(profile);
  const more =
    problems.length > 1
      ? `; and ${problems.length - 1} more (cpuprof show ${profile.name} lists the permitted MSRs)`
      : "";
  return problems.length === 0
    ? null
    : new InputError(`profile ${profile.name} is unsafe for a guest OS: ${problems[0]!.detail}${more}`);
});

// Fresh objects with content seen before (a profile parsed again, a host capture read again) share one
// canonical copy, so every per-object cache above hits for them too (issue 15: applyProfile with fresh
// objects went from ~200 to ~30 µs here); new content still pays for the whole computation.
const canonicalProfiles = new ContentCache<Profile>(
  (p) => `${p.vendor}/${p.kind}/${p.name}/${p.cpuid.length}/${p.msrs.length}/${p.permittedMsrs.length}`,
);
const canonicalHosts = new ContentCache<HostCapture>(
  (h) =>
    `${h.vendor}/${h.family}/${h.model}/${h.stepping}/${h.microcode}/${h.kernel}/${h.cpuid.length}/${h.featureMsrs.length}/${h.msrIndexList.length}`,
);

/** The vCPU configuration for `profile` on `host`: CPUID table, feature-MSR values, MSR filter and compatibility report. */
export function applyProfile(givenProfile: Profile, givenHost: HostCapture, options: ApplyOptions = {}): VcpuConfig {
  const profile = canonicalProfiles.canonical(givenProfile);
  const host = canonicalHosts.canonical(givenHost);
  if (options.checkGuestMsrs !== false) {
    const refusal = guestMsrRefusal(profile);
    if (refusal) throw refusal;
  }
  return applyProfileWith(applyContextFor(rulesVendor(profile, host)), profile, host, options);
}
