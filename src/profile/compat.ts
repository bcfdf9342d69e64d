// Can a profile run on a host? Two views (src/fields/view.ts) and the policy's rules: the profile's fixed
// (mask-0) bits are compared with what the host's KVM supports, field by field, by each field's compare rule.
// Pure: the same profile and host always give the same report.
import { isIndexedLeaf, type Register } from "../model/cpuid.ts";
import { fieldValue } from "../fields/bits.ts";
import { appliesToHiddenRegister, compareField, effectiveValue, explainMismatch, isCompared } from "../fields/rules.ts";
import { featureView, type FeatureView, type RegisterSlot } from "../fields/view.ts";
import { hex32 } from "../model/hex.ts";
import { knownMsrSet } from "./filter.ts";
import type { HostCapture } from "../model/host.ts";
import type { MsrAdjustment, Profile } from "../model/profile.ts";
import {
  ARCH_CAPABILITIES,
  cpuidFieldsIn,
  FB_CLEAR_BIT,
  FB_CLEAR_EXCEPTION_HOST_BITS,
  msrFieldsFor,
  msrRuleFor,
  policyFor,
} from "../policy/index.ts";
import type { Compare, CpuidField, Policy } from "../policy/index.ts";

interface ProblemBase {
  name: string;
  detail: string;
}

/** Where a problem is: a CPUID field, a feature MSR (or one of its fields), or nowhere (the vendor). */
interface CpuidPlace {
  leaf: number;
  subleaf: number;
  register: Register;
  bit: number;
  msr?: undefined;
}
interface MsrPlace {
  msr: number;
  bit?: number;
  leaf?: undefined;
  subleaf?: undefined;
  register?: undefined;
}
interface Nowhere {
  leaf?: undefined;
  subleaf?: undefined;
  register?: undefined;
  bit?: undefined;
  msr?: undefined;
}

/** Why a profile cannot run on a host: a union on `kind`, each kind with the place it speaks of. */
export type CompatProblem =
  | (ProblemBase & Nowhere & { kind: "vendor" })
  | (ProblemBase & CpuidPlace & { kind: "feature-missing" | "numeric-above" | "not-equal" })
  | (ProblemBase & MsrPlace & { kind: "msr-missing" })
  | (ProblemBase & MsrPlace & { bit: number; kind: "msr-value" | "arch-capabilities" });

export type CompatProblemKind = CompatProblem["kind"];

export interface CompatReport {
  compatible: boolean;
  problems: CompatProblem[];
  notes: string[];
}

export interface CompatOptions {
  /** Compare the nested-virtualisation fields (VMX/SVM) too. */
  nested?: boolean;
}

const KIND_BY_COMPARE: Record<Exclude<Compare, "none">, "feature-missing" | "numeric-above" | "not-equal"> = {
  subset: "feature-missing",
  superset: "not-equal",
  le: "numeric-above",
  eq: "not-equal",
};

/** The subleaves at which a field is checked: its own, or where the profile or the host says something. */
export function subleavesToCheck(field: CpuidField, profile: FeatureView, host: FeatureView): number[] {
  const { start, end } = field.subleaves;
  if (start === end) return [start];
  if (!isIndexedLeaf(field.leaf)) return [0];
  const set = new Set([
    ...host.subleavesIn(field.leaf, field.register, start, end),
    ...profile.subleavesIn(field.leaf, field.register, start, end),
  ]);
  return [...set].sort((a, b) => a - b);
}

/** Whether a CPUID field is compared at all under these options. */
export function cpuidFieldCompared(field: CpuidField, options: CompatOptions): boolean {
  return isCompared(field, options.nested);
}

/**
 * The one evaluation of a CPUID field's compare rule at one subleaf (the reference checker and the
 * compiled one both call it): the problem, or null. `hostRegister` is the host's register value there.
 */
export function cpuidFieldProblem(
  field: CpuidField,
  subleaf: number,
  profile: RegisterSlot,
  hostRegister: number,
): CompatProblem | null {
  if (!cpuidFieldFails(field, profile, hostRegister)) return null;
  const fixed = ~profile.hostBits >>> 0;
  const p = effectiveValue(field, (profile.fixed & fixed) >>> 0);
  const h = effectiveValue(field, (hostRegister & fixed) >>> 0);
  return {
    kind: KIND_BY_COMPARE[field.compare as Exclude<Compare, "none">],
    name: field.name,
    detail: `${field.name} (leaf ${hex32(field.leaf)} subleaf ${hex32(subleaf)} ${field.register.toUpperCase()}[${field.msb === field.lsb ? field.lsb : `${field.msb}:${field.lsb}`}]): ${explainMismatch(field.compare, BigInt(p), BigInt(h))}`,
    leaf: field.leaf,
    subleaf,
    register: field.register,
    bit: field.lsb,
  };
}

/** The decision cpuidFieldProblem reports on: whether the field's rule fails at this subleaf (no report built). */
export function cpuidFieldFails(field: CpuidField, profile: RegisterSlot, hostRegister: number): boolean {
  // No adjustment: the profile hides the register; only "at most" rules can then fail, never equality.
  if (!profile.present && !appliesToHiddenRegister(field.compare)) return false;
  const fixed = ~profile.hostBits >>> 0;
  if (fieldValue(field, fixed) === 0) return false; // passed through: the host's own value
  const p = effectiveValue(field, (profile.fixed & fixed) >>> 0);
  const h = effectiveValue(field, (hostRegister & fixed) >>> 0);
  return !compareField(field.compare, p, h);
}

function cpuidProblems(policy: Policy, profile: Profile, host: HostCapture, options: CompatOptions): CompatProblem[] {
  const out: CompatProblem[] = [];
  // two views and the policy's rules: the profile's fixed bits against what the host offers
  const pv = featureView(profile),
    hv = featureView(host);
  // the rows of one register follow each other in the table: their subleaves are found once
  let last: CpuidField | undefined,
    subleaves: number[] = [];
  for (const field of cpuidFieldsIn(policy)) {
    if (!cpuidFieldCompared(field, options)) continue;
    if (!(last && last.leaf === field.leaf && last.register === field.register && last.subleaves === field.subleaves))
      subleaves = subleavesToCheck(field, pv, hv);
    last = field;
    for (const subleaf of subleaves) {
      const problem = cpuidFieldProblem(
        field,
        subleaf,
        pv.register(field.leaf, subleaf, field.register),
        hv.fixedAt(field.leaf, subleaf, field.register),
      );
      if (problem) out.push(problem);
    }
  }
  return out;
}

/** One feature-MSR adjustment to compare, with what the policy says of it (the profile-only part). */
export interface MsrCheck {
  adj: MsrAdjustment;
  name: string;
  /** The adjustment's fixed bits (~mask). */
  fixed: bigint;
  /** The fields compared under the options (a feature MSR the table does not know: all 64 bits as a subset). */
  fields: readonly { lsb: number; msb: number; name: string; compare: Compare; nested?: boolean }[];
}

export function msrChecks(policy: Policy, profile: Profile, options: CompatOptions): MsrCheck[] {
  const out: MsrCheck[] = [];
  for (const adj of profile.msrs) {
    const rule = msrRuleFor(policy, adj.index);
    if (rule?.nested && !options.nested) continue;
    const name = rule?.name ?? hex32(adj.index);
    const known = msrFieldsFor(policy, adj.index);
    const fields = known.length > 0 ? known : [{ lsb: 0, msb: 63, name, compare: "subset" as Compare, nested: false }];
    out.push({
      adj,
      name,
      fixed: ~adj.mask & 0xffff_ffff_ffff_ffffn,
      fields: fields.filter((f) => isCompared(f, options.nested)),
    });
  }
  return out;
}

type MsrField = MsrCheck["fields"][number];

/** What a feature-MSR check decides: the host lacks the MSR, or these fields fail (none under the FB_CLEAR exception). */
export type MsrCheckOutcome =
  | { hostMsr: false }
  | { hostMsr: true; hostValue: bigint; failing: MsrField[]; fbClearException: boolean };

/**
 * The one evaluation of a feature-MSR adjustment against a host (the reference and the compiled checker call it,
 * through msrCheckProblems or directly). `suspect` (the compiled checker): the fields its masks cannot clear; every
 * other field passes.
 */
export function msrCheckOutcome(
  check: MsrCheck,
  host: HostCapture,
  suspect?: (field: MsrField) => boolean,
): MsrCheckOutcome {
  const { adj, fixed } = check;
  const hostMsr = host.featureMsrs.find((m) => m.index === adj.index);
  if (!hostMsr) return { hostMsr: false };
  const failing: MsrField[] = [];
  for (const f of check.fields) {
    if (suspect && !suspect(f)) continue;
    if (!compareField(f.compare, fieldValue(f, adj.replacements & fixed), fieldValue(f, hostMsr.value & fixed)))
      failing.push(f);
  }
  const exception = adj.index === ARCH_CAPABILITIES && fbClearException(failing, hostMsr.value);
  return { hostMsr: true, hostValue: hostMsr.value, failing: exception ? [] : failing, fbClearException: exception };
}

/** The report of a feature-MSR check's outcome: its problems, and the note the FB_CLEAR exception leaves. */
export function msrCheckProblems(check: MsrCheck, outcome: MsrCheckOutcome, notes: string[]): CompatProblem[] {
  const { adj, name, fixed } = check;
  if (!outcome.hostMsr)
    return [
      {
        kind: "msr-missing",
        name,
        msr: adj.index,
        detail: `feature MSR ${hex32(adj.index)} (${name}): the profile sets it, the host does not offer it`,
      },
    ];
  if (outcome.fbClearException)
    notes.push(
      "IA32_ARCH_CAPABILITIES: the profile's FB_CLEAR is absent on the host, accepted because the host has MDS_NO, TAA_NO, SBDR_SSDP_NO, FBSDP_NO and PSDP_NO",
    );
  return outcome.failing.map((f) => {
    const p = fieldValue(f, adj.replacements & fixed);
    const h = fieldValue(f, outcome.hostValue & fixed);
    return {
      kind: adj.index === ARCH_CAPABILITIES ? "arch-capabilities" : "msr-value",
      name: f.name,
      msr: adj.index,
      bit: f.lsb,
      detail: `${f.name} (MSR ${hex32(adj.index)}[${f.msb === f.lsb ? f.lsb : `${f.msb}:${f.lsb}`}]): ${explainMismatch(f.compare, p, h)}`,
    };
  });
}

/** The names of a feature-MSR check's problems (msrCheckProblems' names, without building the reports). */
export function msrCheckProblemNames(check: MsrCheck, outcome: MsrCheckOutcome): string[] {
  return outcome.hostMsr ? outcome.failing.map((f) => f.name) : [check.name];
}

function msrProblems(
  policy: Policy,
  profile: Profile,
  host: HostCapture,
  options: CompatOptions,
  notes: string[],
): CompatProblem[] {
  return msrChecks(policy, profile, options).flatMap((c) => msrCheckProblems(c, msrCheckOutcome(c, host), notes));
}

/** Cloud Hypervisor's exception: a profile whose only extra bit is FB_CLEAR runs on a host immune to what it clears. */
function fbClearException(failing: readonly MsrField[], hostValue: bigint): boolean {
  return (
    failing.length === 1 &&
    failing[0]!.lsb === FB_CLEAR_BIT &&
    FB_CLEAR_EXCEPTION_HOST_BITS.every((b) => ((hostValue >> BigInt(b)) & 1n) === 1n)
  );
}

/** The permitted MSRs a host may lack without a note: those the policy does not mark implicit (profile-only). */
export function permittedToNote(policy: Policy, profile: Profile): number[] {
  return profile.permittedMsrs.filter((i) => !msrRuleFor(policy, i)?.implicit);
}

/** The note on permitted MSRs this host does not know, from permittedToNote's list and the host's known MSRs. */
export function permittedNotes(candidates: readonly number[], known: ReadonlySet<number>): string[] {
  const absent = candidates.filter((i) => !known.has(i));
  if (absent.length === 0) return [];
  const shown = absent.slice(0, 8).map(hex32).join(", ");
  return [
    `${absent.length} permitted MSR(s) unknown to this host (harmless: the filter only denies MSRs the host knows): ${shown}${absent.length > 8 ? ", …" : ""}`,
  ];
}

/** Every MSR index the host's KVM knows (filter.ts's knownMsrSet). */
export const knownHostMsrs = knownMsrSet;

/** The report for a host profile or a vendor mismatch, which need no field comparison; null otherwise. */
export function reportWithoutFields(profile: Profile, host: HostCapture): CompatReport | null {
  if (profile.kind === "host")
    return {
      compatible: true,
      problems: [],
      notes: ["host profile: the guest sees this host's CPU as it is (not migratable)"],
    };
  if (profile.vendor !== host.vendor)
    return {
      compatible: false,
      problems: [
        {
          kind: "vendor",
          name: "vendor",
          detail: `the profile is for ${profile.vendor}, the host is ${host.vendor} (${host.vendorString})`,
        },
      ],
      notes: [],
    };
  return null;
}

/** The reference checker: field by field over the policy. compileCompatibility gives the same reports faster. */
export function checkCompatibility(profile: Profile, host: HostCapture, options: CompatOptions = {}): CompatReport {
  const trivial = reportWithoutFields(profile, host);
  if (trivial) return trivial;
  const policy = policyFor(profile.vendor);
  const notes: string[] = [];
  const problems = [
    ...cpuidProblems(policy, profile, host, options),
    ...msrProblems(policy, profile, host, options, notes),
  ];
  notes.push(...permittedNotes(permittedToNote(policy, profile), knownHostMsrs(host)));
  return { compatible: problems.length === 0, problems, notes };
}
