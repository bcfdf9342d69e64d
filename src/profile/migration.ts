// Can a guest started on SRC under a profile move to DST? Apply the profile to both hosts and compare
// the two guests field by field with the policy's compare rules: every CPUID field and feature-MSR
// field the policy classifies, the vendor, and the MSRs the guest may touch that DST does not know.
// Without a profile the guest is each host's raw supported CPUID (the host profile).
import { cpuidFeatureAt, msrFieldAt, msrName } from "../catalogue/index.ts";
import type { CpuidEntry } from "../model/cpuid.ts";
import { hex32, hex64 } from "../model/hex.ts";
import type { HostCapture } from "../model/host.ts";
import type { Profile } from "../model/profile.ts";
import type { Compare, CpuidField, MsrField, Policy } from "../policy/types.ts";
import { policyFor } from "../policy/index.ts";
import { applyProfileWith, effectivePermittedMsrs, type ApplyContext } from "./apply.ts";
import { knownMsrsOf } from "./filter.ts";
import { hostProfile } from "./generate.ts";
import type { VcpuMsr } from "./vcpu-msrs.ts";

export interface MigrationProblem {
  /** vendor | cpuid-feature | cpuid-value | msr-feature | msr-value | msr-missing | msr-unknown */
  kind: string;
  name: string;
  detail: string;
}

export interface MigrationReport {
  compatible: boolean;
  problems: MigrationProblem[];
}

/** The host profile for one host (kept for callers of this module; generate's hostProfile is the source). */
export function hostProfileOf(host: HostCapture): Profile {
  return hostProfile(host.vendor);
}

/** One value of a field on SRC and DST; what breaks when the guest moves, or nothing. */
interface Difference {
  /** Bits (relative to the field's lsb) that break the rule, for bit rules; null for numeric rules. */
  bits: bigint | null;
}

/**
 * The compare rules, read for migration (the guest saw `src`, it will see `dst`):
 * subset: the guest's features must all exist on DST; superset: DST must not add bad-news bits the guest
 * was told are absent; le: DST must offer at least SRC's value; eq: identical.
 */
export function migrationDifference(compare: Compare, src: bigint, dst: bigint): Difference | null {
  switch (compare) {
    case "subset":
      return src & ~dst ? { bits: src & ~dst } : null;
    case "superset":
      return dst & ~src ? { bits: dst & ~src } : null;
    case "le":
      return src <= dst ? null : { bits: null };
    case "eq":
      return src === dst ? null : { bits: null };
    case "none":
      return null;
  }
}

function bitsOf(mask: bigint): number[] {
  const out: number[] = [];
  for (let b = 0; mask >> BigInt(b); b++) if ((mask >> BigInt(b)) & 1n) out.push(b);
  return out;
}

const fieldValue = (reg: number, lsb: number, msb: number) => BigInt(reg >>> 0) >> BigInt(lsb) & ((1n << BigInt(msb - lsb + 1)) - 1n);
const msrFieldValue = (v: bigint, lsb: number, msb: number) => (v >> BigInt(lsb)) & ((1n << BigInt(msb - lsb + 1)) - 1n);

/** XSAVE components the guest may enable: XCR0 (0xD.0 EDX:EAX) and IA32_XSS (0xD.1 EDX:ECX). */
function xsaveComponents(table: readonly CpuidEntry[]): bigint {
  const d0 = table.find((e) => e.function === XSAVE_LEAF && e.index === 0);
  const d1 = table.find((e) => e.function === XSAVE_LEAF && e.index === 1);
  const pair = (lo = 0, hi = 0) => BigInt(lo >>> 0) | (BigInt(hi >>> 0) << 32n);
  return pair(d0?.eax, d0?.edx) | pair(d1?.ecx, d1?.edx);
}

const XSAVE_LEAF = 0xd;
/** Subleaves that describe one thing each, compared only when the source guest has that thing. */
const SUBLEAF_GATES: readonly { leaf: number; first: number; why: string; present: (srcTable: readonly CpuidEntry[]) => (subleaf: number) => boolean }[] = [
  {
    leaf: XSAVE_LEAF,
    first: 2,
    why: "0xD.n describes XSAVE component n; a guest whose XCR0/XSS lacks n never uses its size or offset",
    present: (t) => {
      const components = xsaveComponents(t);
      return (n) => n < 64 && ((components >> BigInt(n)) & 1n) === 1n;
    },
  },
];

function cpuidProblems(policy: Policy, src: readonly CpuidEntry[], dst: readonly CpuidEntry[]): MigrationProblem[] {
  const gates = new Map(SUBLEAF_GATES.map((g) => [g.leaf, { first: g.first, present: g.present(src) }]));
  const dstByKey = new Map(dst.map((e) => [`${e.function}/${e.index}`, e]));
  const out: MigrationProblem[] = [];
  const fieldsByLeaf = new Map<number, CpuidField[]>();
  for (const f of policy.cpuid) if (f.compare !== "none") fieldsByLeaf.set(f.leaf, [...(fieldsByLeaf.get(f.leaf) ?? []), f]);
  for (const s of src) {
    const gate = gates.get(s.function);
    if (gate && s.index >= gate.first && !gate.present(s.index)) continue;
    const d = dstByKey.get(`${s.function}/${s.index}`);
    for (const f of fieldsByLeaf.get(s.function) ?? []) {
      if (s.index < f.subleaves.start || s.index > f.subleaves.end) continue;
      const sv = fieldValue(s[f.register], f.lsb, f.msb);
      const dv = d ? fieldValue(d[f.register], f.lsb, f.msb) : 0n;
      const diff = migrationDifference(f.compare, sv, dv);
      if (!diff) continue;
      const where = `${hex32(s.function)}.${s.index}.${f.register}[${f.msb === f.lsb ? f.lsb : `${f.msb}:${f.lsb}`}]`;
      if (diff.bits === null) {
        out.push({
          kind: "cpuid-value",
          name: f.name,
          detail: `${f.name} (${where}) is ${hex64(sv)} for the guest on the source, ${hex64(dv)} on the destination (rule: ${f.compare === "le" ? "destination must be at least the source" : "must be equal"})`,
        });
        continue;
      }
      for (const bit of bitsOf(diff.bits)) {
        const name = f.lsb === f.msb ? f.name : (cpuidFeatureAt(s.function, s.index, f.register, f.lsb + bit)?.linux ?? `${f.name}[${f.lsb + bit}]`);
        out.push(
          f.compare === "subset"
            ? { kind: "cpuid-feature", name, detail: `${name} (${where}) is offered to the guest on the source but missing on the destination` }
            : { kind: "cpuid-feature", name, detail: `${name} (${where}) is set on the destination but the guest was told it is clear (a bad-news bit)` },
        );
      }
    }
  }
  return out;
}

function msrProblems(policy: Policy, src: readonly VcpuMsr[], dst: readonly VcpuMsr[], dstFeature: ReadonlySet<number>): MigrationProblem[] {
  const dstValue = new Map(dst.map((m) => [m.index, m.value]));
  const fields = new Map<number, MsrField[]>();
  for (const f of policy.msrFields) if (f.compare !== "none") fields.set(f.index, [...(fields.get(f.index) ?? []), f]);
  const out: MigrationProblem[] = [];
  for (const m of src) {
    const name = msrName(m.index);
    if (!dstFeature.has(m.index)) {
      if (m.value !== 0n)
        out.push({ kind: "msr-missing", name, detail: `${name} (${hex32(m.index)}) is ${hex64(m.value)} for the guest on the source, and the destination's KVM does not offer it as a feature MSR` });
      continue;
    }
    const dv = dstValue.get(m.index) ?? 0n;
    for (const f of fields.get(m.index) ?? []) {
      const s = msrFieldValue(m.value, f.lsb, f.msb), d = msrFieldValue(dv, f.lsb, f.msb);
      const diff = migrationDifference(f.compare, s, d);
      if (!diff) continue;
      if (diff.bits === null) {
        out.push({ kind: "msr-value", name: f.name, detail: `${name} ${f.name} is ${hex64(s)} on the source, ${hex64(d)} on the destination (rule: ${f.compare})` });
        continue;
      }
      for (const bit of bitsOf(diff.bits)) {
        const named = msrFieldAt(m.index, f.lsb + bit);
        const bitName = f.lsb === f.msb ? f.name : named && named.lsb === named.msb ? named.name : `${f.name}[${f.lsb + bit}]`;
        out.push({
          kind: "msr-feature",
          name: bitName,
          detail:
            f.compare === "subset"
              ? `${name} ${bitName} is set for the guest on the source but not on the destination`
              : `${name} ${bitName} is set on the destination but the guest was told it is clear (a bad-news bit)`,
        });
      }
    }
  }
  return out;
}

/** checkMigration with an explicit policy (tests use small hand-made ones). */
export function checkMigrationWith(ctx: ApplyContext, src: HostCapture, dst: HostCapture, profile?: Profile): MigrationReport {
  const problems: MigrationProblem[] = [];
  const p = profile ?? hostProfile(src.vendor);
  if (src.vendor !== dst.vendor || p.vendor !== dst.vendor)
    problems.push({ kind: "vendor", name: "vendor", detail: `the guest's vendor is ${p.vendor} (source ${src.vendor}); the destination is ${dst.vendor}: cross-vendor migration is unsupported` });
  // the MSR filter and topology are the same on both sides for the same options; only contents matter here
  const options = { msrFilter: false } as const;
  const onSrc = applyProfileWith(ctx, p, src, options);
  const onDst = applyProfileWith(ctx, profile ?? hostProfile(dst.vendor), dst, options);
  problems.push(...cpuidProblems(ctx.policy, onSrc.cpuid, onDst.cpuid));
  problems.push(...msrProblems(ctx.policy, onSrc.msrs, onDst.msrs, new Set(dst.featureMsrs.map((m) => m.index))));

  // MSRs the guest may access on the source that the destination's KVM does not know: they would #GP after the move
  const srcKnown = knownMsrsOf(src);
  const dstKnown = new Set(knownMsrsOf(dst));
  const accessible = p.kind === "host" ? srcKnown : effectivePermittedMsrs(p.permittedMsrs, {}).filter((m) => srcKnown.includes(m));
  for (const m of [...new Set(accessible)].sort((a, b) => a - b))
    if (!dstKnown.has(m)) problems.push({ kind: "msr-unknown", name: msrName(m), detail: `${msrName(m)} (${hex32(m)}) is accessible to the guest on the source, unknown to the destination's KVM` });

  const seen = new Set<string>();
  const unique = problems.filter((x) => {
    const k = `${x.kind}/${x.name}/${x.detail}`;
    return seen.has(k) ? false : (seen.add(k), true);
  });
  return { compatible: unique.length === 0, problems: unique };
}

export function checkMigration(src: HostCapture, dst: HostCapture, profile?: Profile): MigrationReport {
  const policy = policyFor(profile?.vendor ?? src.vendor);
  return checkMigrationWith({ policy, check: () => ({ compatible: true, problems: [], notes: [] }) }, src, dst, profile);
}
