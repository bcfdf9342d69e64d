// Can a profile run on a host? The profile's fixed (mask-0) bits are compared with what the
// host's KVM supports, field by field, by each field's compare rule in the vendor's policy.
// Pure: the same profile and host always give the same report.
import { findCpuid, isIndexedLeaf, type Register } from "../model/cpuid.ts";
import { bitMask64, hex32, hex64 } from "../model/hex.ts";
import type { HostCapture } from "../model/host.ts";
import { findAdjustment, type Profile } from "../model/profile.ts";
import { ARCH_CAPABILITIES, FB_CLEAR_BIT, FB_CLEAR_EXCEPTION_HOST_BITS } from "../policy/common.ts";
import { effectiveFieldValue, msrFieldsFor, msrRuleFor, policyFor } from "../policy/index.ts";
import type { Compare, CpuidField, Policy } from "../policy/types.ts";

export type CompatProblemKind = "vendor" | "feature-missing" | "numeric-above" | "not-equal" | "msr-missing" | "msr-value" | "arch-capabilities";

export interface CompatProblem {
  kind: CompatProblemKind;
  name: string;
  detail: string;
  leaf?: number;
  subleaf?: number;
  register?: Register;
  bit?: number;
  msr?: number;
}

export interface CompatReport {
  compatible: boolean;
  problems: CompatProblem[];
  notes: string[];
}

export interface CompatOptions {
  /** Compare the nested-virtualisation fields (VMX/SVM) too. */
  nested?: boolean;
}

/** The value of bits lsb..msb of `value`, shifted down (number in, number out; bigint in, bigint out). */
export function fieldValue(field: { lsb: number; msb: number }, value: number): number;
export function fieldValue(field: { lsb: number; msb: number }, value: bigint): bigint;
export function fieldValue(field: { lsb: number; msb: number }, value: number | bigint): number | bigint;
export function fieldValue(field: { lsb: number; msb: number }, value: number | bigint): number | bigint {
  const v = (BigInt(value) & bitMask64(field.lsb, field.msb)) >> BigInt(field.lsb);
  return typeof value === "number" ? Number(v) : v;
}

/** True when `a` (the profile, or one host) may run where `b` (the host) is, under `compare`. */
export function compareField(compare: Compare, a: number | bigint, b: number | bigint): boolean {
  const x = BigInt(a), y = BigInt(b);
  switch (compare) {
    case "subset":
      return (x & ~y) === 0n;
    case "superset":
      return (y & ~x) === 0n;
    case "le":
      return x <= y;
    case "eq":
      return x === y;
    case "none":
      return true;
  }
}

const KIND_BY_COMPARE: Record<Exclude<Compare, "none">, CompatProblemKind> = {
  subset: "feature-missing",
  superset: "not-equal",
  le: "numeric-above",
  eq: "not-equal",
};

function describeMismatch(compare: Compare, profileValue: bigint, hostValue: bigint): string {
  switch (compare) {
    case "subset":
      return profileValue === 1n && hostValue === 0n ? "the profile sets it, the host lacks it" : `profile ${hex64(profileValue)} has bits the host (${hex64(hostValue)}) lacks`;
    case "superset":
      return `the host has ${hex64(hostValue & ~profileValue)} that the profile does not declare`;
    case "le":
      return `profile ${hex64(profileValue)} is above the host's ${hex64(hostValue)}`;
    default:
      return `profile ${hex64(profileValue)} differs from the host's ${hex64(hostValue)}`;
  }
}

/** The subleaves at which a field is checked: its own, or where the profile or host has entries. */
function subleavesToCheck(field: CpuidField, profile: Profile, host: HostCapture): number[] {
  const { start, end } = field.subleaves;
  if (start === end) return [start];
  if (!isIndexedLeaf(field.leaf)) return [0];
  const set = new Set<number>();
  for (const e of host.cpuid) if (e.function === field.leaf && e.index >= start && e.index <= end) set.add(e.index);
  for (const a of profile.cpuid)
    if (a.leaf === field.leaf && a.register === field.register && a.subleaf.end >= start && a.subleaf.start <= end) set.add(Math.max(a.subleaf.start, start));
  return [...set].sort((a, b) => a - b);
}

function cpuidProblems(policy: Policy, profile: Profile, host: HostCapture, options: CompatOptions): CompatProblem[] {
  const out: CompatProblem[] = [];
  for (const field of policy.cpuid) {
    if (field.compare === "none" || (field.nested && !options.nested)) continue;
    for (const subleaf of subleavesToCheck(field, profile, host)) {
      const adj = findAdjustment(profile, field.leaf, subleaf, field.register);
      // No adjustment: the profile hides the register; only "at most" rules can then fail, never equality.
      if (!adj && field.compare === "eq") continue;
      const fixed = BigInt(~(adj?.mask ?? 0) >>> 0);
      if (fieldValue(field, fixed) === 0n) continue; // passed through: the host's own value
      const profileReg = Number(BigInt(adj?.replacements ?? 0) & fixed);
      const hostReg = Number(BigInt(findCpuid(host.cpuid, field.leaf, subleaf)?.[field.register] ?? 0) & fixed);
      const p = BigInt(effectiveFieldValue(field, profileReg));
      const h = BigInt(effectiveFieldValue(field, hostReg));
      if (compareField(field.compare, p, h)) continue;
      out.push({
        kind: KIND_BY_COMPARE[field.compare],
        name: field.name,
        detail: `${field.name} (leaf ${hex32(field.leaf)} subleaf ${hex32(subleaf)} ${field.register.toUpperCase()}[${field.msb === field.lsb ? field.lsb : `${field.msb}:${field.lsb}`}]): ${describeMismatch(field.compare, p, h)}`,
        leaf: field.leaf,
        subleaf,
        register: field.register,
        bit: field.lsb,
      });
    }
  }
  return out;
}

function msrProblems(policy: Policy, profile: Profile, host: HostCapture, options: CompatOptions, notes: string[]): CompatProblem[] {
  const out: CompatProblem[] = [];
  for (const adj of profile.msrs) {
    const rule = msrRuleFor(policy, adj.index);
    if (rule?.nested && !options.nested) continue;
    const name = rule?.name ?? hex32(adj.index);
    const hostMsr = host.featureMsrs.find((m) => m.index === adj.index);
    if (!hostMsr) {
      out.push({ kind: "msr-missing", name, msr: adj.index, detail: `feature MSR ${hex32(adj.index)} (${name}): the profile sets it, the host does not offer it` });
      continue;
    }
    const fixed = ~adj.mask & 0xffff_ffff_ffff_ffffn;
    const known = msrFieldsFor(policy, adj.index);
    // A feature MSR the table does not know: compare its fixed bits as a subset.
    const fields = known.length > 0 ? known : [{ lsb: 0, msb: 63, name, compare: "subset" as Compare, nested: false }];
    const found: CompatProblem[] = [];
    for (const f of fields) {
      if (f.compare === "none" || (f.nested && !options.nested)) continue;
      const p = fieldValue(f, adj.replacements & fixed);
      const h = fieldValue(f, hostMsr.value & fixed);
      if (compareField(f.compare, p, h)) continue;
      found.push({
        kind: adj.index === ARCH_CAPABILITIES ? "arch-capabilities" : "msr-value",
        name: f.name,
        msr: adj.index,
        bit: f.lsb,
        detail: `${f.name} (MSR ${hex32(adj.index)}[${f.msb === f.lsb ? f.lsb : `${f.msb}:${f.lsb}`}]): ${describeMismatch(f.compare, p, h)}`,
      });
    }
    if (adj.index === ARCH_CAPABILITIES && fbClearException(found, hostMsr.value)) {
      notes.push("IA32_ARCH_CAPABILITIES: the profile's FB_CLEAR is absent on the host, accepted because the host has MDS_NO, TAA_NO, SBDR_SSDP_NO, FBSDP_NO and PSDP_NO");
      continue;
    }
    out.push(...found);
  }
  return out;
}

/** Cloud Hypervisor's exception: a profile whose only extra bit is FB_CLEAR runs on a host immune to what it clears. */
function fbClearException(found: readonly CompatProblem[], hostValue: bigint): boolean {
  return (
    found.length === 1 &&
    found[0]!.bit === FB_CLEAR_BIT &&
    FB_CLEAR_EXCEPTION_HOST_BITS.every((b) => ((hostValue >> BigInt(b)) & 1n) === 1n)
  );
}

function permittedNotes(policy: Policy, profile: Profile, host: HostCapture): string[] {
  const known = new Set([...host.msrIndexList, ...host.featureMsrs.map((m) => m.index)]);
  const absent = profile.permittedMsrs.filter((i) => !known.has(i) && !msrRuleFor(policy, i)?.implicit);
  if (absent.length === 0) return [];
  const shown = absent.slice(0, 8).map(hex32).join(", ");
  return [`${absent.length} permitted MSR(s) unknown to this host (harmless: the filter only denies MSRs the host knows): ${shown}${absent.length > 8 ? ", …" : ""}`];
}

export function checkCompatibility(profile: Profile, host: HostCapture, options: CompatOptions = {}): CompatReport {
  if (profile.kind === "host")
    return { compatible: true, problems: [], notes: ["host profile: the guest sees this host's CPU as it is (not migratable)"] };
  if (profile.vendor !== host.vendor)
    return {
      compatible: false,
      problems: [{ kind: "vendor", name: "vendor", detail: `the profile is for ${profile.vendor}, the host is ${host.vendor} (${host.vendorString})` }],
      notes: [],
    };
  const policy = policyFor(profile.vendor);
  const notes: string[] = [];
  const problems = [...cpuidProblems(policy, profile, host, options), ...msrProblems(policy, profile, host, options, notes)];
  notes.push(...permittedNotes(policy, profile, host));
  return { compatible: problems.length === 0, problems, notes };
}
