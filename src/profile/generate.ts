// Generating a profile from one host capture by the vendor's policy table (Cloud Hypervisor's
// generation tool): inherit → replacements = host bits, mask 0; passthrough → mask 1;
// static v → replacements v, mask 0. Anything the table does not know stays hidden.
import { InputError } from "../errors.ts";
import { REGISTERS, isIndexedLeaf, type CpuidEntry } from "../model/cpuid.ts";
import { hex32, hex64 } from "../model/hex.ts";
import { OPS32, OPS64, type WidthOps } from "../fields/bits.ts";
import { isNumeric } from "../fields/rules.ts";
import { unknownBits32, unknownBits64 } from "../fields/split.ts";
import { knownMsrSet } from "./filter.ts";
import type { HostCapture } from "../model/host.ts";
import type { CpuidAdjustment, MsrAdjustment, Profile, SourceHost } from "../model/profile.ts";
import type { Vendor } from "../model/vendor.ts";
import {
  cpuidFieldsIn,
  cpuidFieldsOfLeaf,
  msrFieldsFor,
  msrFieldsIn,
  msrRuleFor,
  msrRuleIndices,
  msrRulesIn,
  policyFor,
} from "../policy/index.ts";
import type { CpuidField, FieldRule, Policy } from "../policy/index.ts";
import { TOOL_VERSION } from "../version.ts";
import { reconcilePermittedMsrs } from "./guest-msrs.ts";

export interface GenerateOptions {
  name: string;
  description?: string;
  version?: number;
  /** Refuse (InputError) instead of hiding what the table does not know. */
  strict?: boolean;
}

export interface UnknownItem {
  kind: "leaf" | "bits" | "msr";
  leaf?: number;
  subleaf?: number;
  register?: string;
  bits?: number;
  msr?: number;
  text: string;
}

export interface GenerateSummary {
  /** Features the host has that the profile keeps (or forces on). */
  kept: string[];
  /** Features the host has that the profile hides, with the policy's reason where it gives one. */
  hidden: { name: string; why: string | null }[];
  /** Fields the policy leaves to the host the VM runs on (passthrough), of the leaves this host has. */
  leftToHost: string[];
}

export interface GenerateResult {
  profile: Profile;
  unknown: UnknownItem[];
  summary: GenerateSummary;
}

/** replacements/mask of one CPUID register or feature MSR from its fields' actions and the host's value (either width). */
function adjustmentBits<T>(fields: readonly FieldRule[], hostValue: T, ops: WidthOps<T>): { replacements: T; mask: T } {
  let replacements = ops.zero,
    mask = ops.zero;
  for (const f of fields) {
    const m = ops.mask(f.lsb, f.msb);
    if (f.action.kind === "inherit") replacements = ops.or(replacements, ops.and(hostValue, m));
    else if (f.action.kind === "passthrough") mask = ops.or(mask, m);
    else replacements = ops.or(replacements, ops.and(ops.shiftUp(ops.of(f.action.value), f.lsb), m));
  }
  return { replacements, mask };
}

/** Elementary subleaf segments over which the same fields apply. */
function segments(fields: readonly CpuidField[]): { start: number; end: number; fields: CpuidField[] }[] {
  const cuts = new Set<number>();
  for (const f of fields) {
    cuts.add(f.subleaves.start);
    if (f.subleaves.end < 0xffffffff) cuts.add(f.subleaves.end + 1);
  }
  const points = [...cuts].sort((a, b) => a - b);
  const out: { start: number; end: number; fields: CpuidField[] }[] = [];
  points.forEach((start, i) => {
    const end = i + 1 < points.length ? points[i + 1]! - 1 : 0xffffffff;
    const inside = fields.filter((f) => f.subleaves.start <= start && start <= f.subleaves.end);
    if (inside.length > 0) out.push({ start, end, fields: inside });
  });
  return out;
}

function cpuidAdjustments(policy: Policy, leaf: number, entries: readonly CpuidEntry[]): CpuidAdjustment[] {
  const out: CpuidAdjustment[] = [];
  for (const register of REGISTERS) {
    const fields = cpuidFieldsOfLeaf(policy, leaf).filter((f) => f.register === register);
    for (const seg of segments(fields)) {
      const inSegment = entries.filter((e) => e.index >= seg.start && e.index <= seg.end);
      if (inSegment.length === 0 && isIndexedLeaf(leaf)) continue;
      const dependsOnHost = seg.fields.some((f) => f.action.kind === "inherit");
      if (!dependsOnHost || !isIndexedLeaf(leaf)) {
        // Non-indexed leaves have one entry (subleaf 0) that answers every subleaf.
        const hostValue = (entries.find((e) => e.index === 0) ?? entries[0])?.[register] ?? 0;
        out.push({
          leaf,
          subleaf: { start: seg.start, end: seg.end },
          register,
          ...adjustmentBits(seg.fields, hostValue >>> 0, OPS32),
        });
      } else {
        for (const e of inSegment)
          out.push({
            leaf,
            subleaf: { start: e.index, end: e.index },
            register,
            ...adjustmentBits(seg.fields, e[register] >>> 0, OPS32),
          });
      }
    }
  }
  return out;
}

/** Adjacent subleaf ranges of the same (leaf, register) with identical values become one range. */
export function mergeAdjacent(adjustments: readonly CpuidAdjustment[]): CpuidAdjustment[] {
  const sorted = [...adjustments].sort(
    (a, b) => a.leaf - b.leaf || a.register.localeCompare(b.register) || a.subleaf.start - b.subleaf.start,
  );
  const out: CpuidAdjustment[] = [];
  for (const a of sorted) {
    const prev = out[out.length - 1];
    if (
      prev &&
      prev.leaf === a.leaf &&
      prev.register === a.register &&
      prev.subleaf.end + 1 === a.subleaf.start &&
      prev.replacements === a.replacements &&
      prev.mask === a.mask
    )
      out[out.length - 1] = { ...prev, subleaf: { start: prev.subleaf.start, end: a.subleaf.end } };
    else out.push({ ...a, subleaf: { ...a.subleaf } });
  }
  return out;
}

function unknownCpuid(policy: Policy, host: HostCapture): UnknownItem[] {
  const out: UnknownItem[] = [];
  for (const e of host.cpuid) {
    const known = cpuidFieldsOfLeaf(policy, e.function).length > 0;
    if (!known) {
      if (REGISTERS.some((r) => e[r] !== 0))
        out.push({
          kind: "leaf",
          leaf: e.function,
          subleaf: e.index,
          text: `leaf ${hex32(e.function)} subleaf ${hex32(e.index)}: not in the ${policy.vendor} policy, hidden`,
        });
      continue;
    }
    for (const register of REGISTERS) {
      const bits = (e[register] & unknownBits32(policy.vendor, e.function, e.index, register)) >>> 0;
      if (bits !== 0)
        out.push({
          kind: "bits",
          leaf: e.function,
          subleaf: e.index,
          register,
          bits,
          text: `leaf ${hex32(e.function)} subleaf ${hex32(e.index)} ${register.toUpperCase()} bits ${hex32(bits)}: not in the ${policy.vendor} policy, hidden`,
        });
    }
  }
  return out;
}

function msrAdjustments(policy: Policy, host: HostCapture, unknown: UnknownItem[]): MsrAdjustment[] {
  const out: MsrAdjustment[] = [];
  for (const m of host.featureMsrs) {
    const fields = msrFieldsFor(policy, m.index);
    if (fields.length === 0) {
      unknown.push({
        kind: "msr",
        msr: m.index,
        text: `feature MSR ${hex32(m.index)}: not in the ${policy.vendor} policy, hidden`,
      });
      continue;
    }
    const stray = m.value & unknownBits64(policy.vendor, m.index);
    if (stray !== 0n)
      unknown.push({
        kind: "bits",
        msr: m.index,
        text: `feature MSR ${hex32(m.index)} bits ${hex64(stray)}: not in the ${policy.vendor} policy, hidden`,
      });
    const bits = adjustmentBits(fields, m.value, OPS64);
    // An all-zero adjustment is what "no adjustment" already means (hidden): leave it out.
    if (bits.replacements !== 0n || bits.mask !== 0n) out.push({ index: m.index, ...bits });
  }
  return out;
}

/**
 * The MSRs the guest may access (guest-msrs.ts reconcilePermittedMsrs): what the policy permits, the MSRs a
 * guest OS uses for the features the profile advertises, none of a hidden feature's. The only MSRs that depend
 * on this host are the Hyper-V and nested-only ones: permitted where this host knows them (or KVM emulates them).
 */
export function permittedMsrsFor(
  policy: Policy,
  host: HostCapture,
  profile: Pick<Profile, "kind" | "cpuid">,
  unknown: UnknownItem[],
): number[] {
  const known = knownMsrSet(host);
  const candidates: number[] = [];
  for (const rule of msrRulesIn(policy)) {
    // every other permitted rule is added by reconcilePermittedMsrs whatever the host knows
    if (rule.access !== "permitted" || !(rule.hyperv || rule.nested)) continue;
    for (const i of msrRuleIndices(rule)) if (rule.implicit || known.has(i)) candidates.push(i);
  }
  for (const i of [...known].sort((a, b) => a - b))
    if (!msrRuleFor(policy, i) && !host.featureMsrs.some((m) => m.index === i))
      unknown.push({ kind: "msr", msr: i, text: `MSR ${hex32(i)}: not in the ${policy.vendor} policy, denied` });
  return reconcilePermittedMsrs(policy, profile, candidates);
}

function sourceHostOf(host: HostCapture): SourceHost {
  const signature = `family ${hex32(host.family)} model ${hex32(host.model)} stepping ${hex32(host.stepping)}`;
  return {
    model: host.brand ? `${host.brand} (${signature})` : `${host.vendorString} ${signature}`,
    microcode: host.microcode,
    kernel: host.kernel,
  };
}

function summaryOf(policy: Policy, host: HostCapture, profile: Profile): GenerateSummary {
  const kept: string[] = [],
    hidden: GenerateSummary["hidden"] = [],
    leftToHost: string[] = [];
  const classify = (name: string, inHost: boolean, inProfile: boolean, why: string | undefined) => {
    if (inProfile && !kept.includes(name)) kept.push(name);
    else if (inHost && !inProfile && !hidden.some((h) => h.name === name)) hidden.push({ name, why: why ?? null });
  };
  for (const f of cpuidFieldsIn(policy)) {
    if (f.action.kind === "passthrough") {
      const present = host.cpuid.some(
        (e) => e.function === f.leaf && e.index >= f.subleaves.start && e.index <= f.subleaves.end,
      );
      if (present && !leftToHost.includes(f.name)) leftToHost.push(f.name);
      continue;
    }
    if (f.lsb !== f.msb || isNumeric(f.compare)) continue;
    const entry = host.cpuid.find(
      (e) => e.function === f.leaf && e.index >= f.subleaves.start && e.index <= f.subleaves.end,
    );
    const inHost = entry !== undefined && ((entry[f.register] >>> f.lsb) & 1) === 1;
    const adj = profile.cpuid.find(
      (a) =>
        a.leaf === f.leaf &&
        a.register === f.register &&
        a.subleaf.start <= (entry?.index ?? f.subleaves.start) &&
        (entry?.index ?? f.subleaves.start) <= a.subleaf.end,
    );
    classify(f.name, inHost, adj !== undefined && ((adj.replacements >>> f.lsb) & 1) === 1, f.why);
  }
  for (const f of msrFieldsIn(policy)) {
    const m = host.featureMsrs.find((x) => x.index === f.index);
    if (f.action.kind === "passthrough") {
      if (m && !leftToHost.includes(f.name)) leftToHost.push(f.name);
      continue;
    }
    if (f.lsb !== f.msb) continue;
    const adj = profile.msrs.find((x) => x.index === f.index);
    classify(
      f.name,
      m !== undefined && ((m.value >> BigInt(f.lsb)) & 1n) === 1n,
      adj !== undefined && ((adj.replacements >> BigInt(f.lsb)) & 1n) === 1n,
      f.why,
    );
  }
  return { kept, hidden, leftToHost };
}

export function generateProfile(host: HostCapture, options: GenerateOptions): GenerateResult {
  const policy = policyFor(host.vendor);
  const leaves = [...new Set(host.cpuid.map((e) => e.function))].sort((a, b) => a - b);
  const raw = leaves.flatMap((leaf) =>
    cpuidAdjustments(
      policy,
      leaf,
      host.cpuid.filter((e) => e.function === leaf),
    ),
  );
  const cpuid = mergeAdjacent(raw).filter((a) => a.replacements !== 0 || a.mask !== 0);
  const unknown = unknownCpuid(policy, host);
  const msrs = msrAdjustments(policy, host, unknown);
  const permittedMsrs = permittedMsrsFor(policy, host, { kind: "profile", cpuid }, unknown);
  if (options.strict && unknown.length > 0)
    throw new InputError(
      `the ${policy.vendor} policy does not know ${unknown.length} item(s): ${unknown
        .slice(0, 3)
        .map((u) => u.text)
        .join("; ")}${unknown.length > 3 ? "; …" : ""}`,
    );
  const source = sourceHostOf(host);
  const profile: Profile = {
    name: options.name,
    version: options.version ?? 1,
    vendor: host.vendor,
    kind: "profile",
    description: options.description ?? `Generated from ${source.model}`,
    sourceHosts: [source],
    toolVersion: TOOL_VERSION,
    cpuid,
    msrs,
    permittedMsrs,
  };
  return { profile, unknown, summary: summaryOf(policy, host, profile) };
}

/** Cloud Hypervisor's Host profile: no adjustments, the host as it is. */
export function hostProfile(vendor: Vendor): Profile {
  return {
    name: "host",
    version: 1,
    vendor,
    kind: "host",
    description: "The host's own CPU, unchanged: no adjustments, no MSR filter. Not migratable.",
    sourceHosts: [],
    toolVersion: TOOL_VERSION,
    cpuid: [],
    msrs: [],
    permittedMsrs: [],
  };
}
