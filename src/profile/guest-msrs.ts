// Guest safety of a profile's MSR list: every MSR a guest OS uses for a feature the profile advertises
// is permitted, and every MSR whose features the profile hides is not (src/catalogue/guest-os-msrs.ts).
// generate, baseline and every import build their permitted list through reconcilePermittedMsrs;
// apply refuses a profile for which guestMsrProblems is not empty.
import { cpuidFeatureBit as featureBit, msrName } from "../catalogue/index.ts";
import { GUEST_OS_MSRS, guestOsMsrsFor, osMsrIndices, type GuestOsMsrUse } from "../catalogue/guest-os-msrs.ts";
import type { CompiledGuestOsMsrs } from "../catalogue/guest-os-msrs-compiled.ts";
import { compiledGuestOsMsrsJson } from "../catalogue/guest-os-msrs-macro.ts" with { type: "macro" };
import { bitSet } from "../fields/bits.ts";
import { viewOfProfile } from "../fields/view.ts";
import { REGISTERS, cpuidBitIn, cpuidIndexOf, type CpuidEntry } from "../model/cpuid.ts";
import { hex32 } from "../model/hex.ts";
import { once } from "../model/memo.ts";
import type { Profile } from "../model/profile.ts";
import type { Vendor } from "../model/vendor.ts";
import { msrRuleIndices, msrRulesIn } from "../policy/index.ts";
import type { Policy } from "../policy/index.ts";

/** A profile's view of its features: a bit it fixes to 1, or leaves to the host (which may have it), is advertised. */
export function profileAdvertises(profile: Pick<Profile, "kind" | "cpuid">, name: string): boolean {
  if (profile.kind === "host") return true;
  const b = featureBit(name);
  const slot = viewOfProfile(profile).register(b.leaf, b.subleaf, b.register);
  return bitSet(slot.fixed | slot.hostBits, b.bit);
}

/** A CPUID table's view (an applied config, or what a guest saw). */
export function tableAdvertises(table: readonly CpuidEntry[], name: string): boolean {
  return cpuidBitIn(table, featureBit(name));
}

export interface OsMsrNeed {
  msr: number;
  /** The row of the guest-OS table that names it. */
  use: GuestOsMsrUse;
  /** The advertised features that make a guest OS use it; empty for an architectural MSR. */
  features: string[];
}

/**
 * The MSRs of the guest-OS table for `vendor`, split by whether `advertises` says a guest OS will use them.
 * An MSR in several rows is needed when any row needs it.
 */
export function osMsrNeeds(
  vendor: Vendor,
  advertises: (feature: string) => boolean,
): { needed: OsMsrNeed[]; unused: OsMsrNeed[] } {
  const byMsr = new Map<number, OsMsrNeed & { needed: boolean }>();
  for (const use of guestOsMsrsFor(vendor)) {
    const features = use.anyOf.filter(advertises);
    const needed = use.anyOf.length === 0 || features.length > 0;
    for (const msr of osMsrIndices(use)) {
      const prev = byMsr.get(msr);
      if (!prev) byMsr.set(msr, { msr, use, features, needed });
      else if (needed && !prev.needed) byMsr.set(msr, { msr, use, features, needed });
    }
  }
  const all = [...byMsr.values()].sort((a, b) => a.msr - b.msr);
  const strip = ({ msr, use, features }: OsMsrNeed) => ({ msr, use, features });
  return { needed: all.filter((n) => n.needed).map(strip), unused: all.filter((n) => !n.needed).map(strip) };
}

/** What osMsrNeeds returns, as a read-only value shared by every caller that asks of the same table. */
export type OsMsrNeedsView = { readonly needed: readonly OsMsrNeed[]; readonly unused: readonly OsMsrNeed[] };

/**
 * osMsrNeeds(vendor, (f) => tableAdvertises(table, f)), computed once per table object and vendor: verify
 * asks it of the same applied table three times (plan, and twice in classify). The table must not change
 * after the first call; the result is shared, to be read only (readonly types; freezing its arrays cost
 * ~0.1 ms of a cold process).
 */
export function osMsrNeedsOfTable(vendor: Vendor, table: readonly CpuidEntry[]): OsMsrNeedsView {
  let byVendor = tableNeeds.get(table);
  if (!byVendor) tableNeeds.set(table, (byVendor = new Map()));
  let needs = byVendor.get(vendor);
  if (!needs) byVendor.set(vendor, (needs = Object.freeze(needsFromCompiled(compiledFor(vendor), table))));
  return needs;
}

const tableNeeds = new WeakMap<readonly CpuidEntry[], Map<Vendor, OsMsrNeedsView>>();

// The guest-OS table compiled at bundle time (feature positions instead of names, MSRs as ascending runs),
// parsed on first use: looking the features up by name built the catalogue's name index in a cold verify.
const COMPILED_JSON = compiledGuestOsMsrsJson();
const compiledTables = once(() => JSON.parse(COMPILED_JSON) as Record<Vendor, CompiledGuestOsMsrs>);
const compiledFor = (vendor: Vendor): CompiledGuestOsMsrs => compiledTables()[vendor];

/** osMsrNeeds over what `table` advertises, from the compiled rows: bit tests, then one object per MSR. */
export function needsFromCompiled(
  c: CompiledGuestOsMsrs,
  table: readonly CpuidEntry[],
): { needed: OsMsrNeed[]; unused: OsMsrNeed[] } {
  const { find } = cpuidIndexOf(table);
  const entries: (CpuidEntry | undefined)[] = [];
  for (let s = 0; s < c.leaves.length; s += 2) entries.push(find(c.leaves[s]!, c.leaves[s + 1]!));
  const uses: GuestOsMsrUse[] = [];
  const featuresOf: string[][] = [];
  const neededRow: boolean[] = [];
  for (const { row, bits } of c.rows) {
    const use = GUEST_OS_MSRS[row]!;
    const features: string[] = [];
    for (let k = 0; k < bits.length; k += 3) {
      const e = entries[bits[k]!];
      if (e !== undefined && ((e[REGISTERS[bits[k + 1]!]!] >>> bits[k + 2]!) & 1) === 1)
        features.push(use.anyOf[k / 3]!);
    }
    uses.push(use);
    featuresOf.push(features);
    neededRow.push(bits.length === 0 || features.length > 0);
  }
  const needed: OsMsrNeed[] = [];
  const unused: OsMsrNeed[] = [];
  for (const run of c.runs) {
    // an MSR in several rows takes the first that needs it, else its first row
    let r = run[2]!;
    for (let i = 2; i < run.length; i++)
      if (neededRow[run[i]!]) {
        r = run[i]!;
        break;
      }
    const into = neededRow[r] ? needed : unused;
    const use = uses[r]!,
      features = featuresOf[r]!;
    for (let msr = run[0]!; msr <= run[1]!; msr++) into.push({ msr, use, features });
  }
  return { needed, unused };
}

/**
 * The permitted list of a profile: `candidates` (what a source host knows, or what a file lists), plus every MSR
 * the policy permits without a condition and every MSR a guest OS uses for an advertised feature, minus the MSRs
 * of features the profile hides. Hyper-V and nested-only rules add their MSRs only where `candidates` has them.
 * Sorted, unique.
 */
export function reconcilePermittedMsrs(
  policy: Policy,
  profile: Pick<Profile, "kind" | "cpuid">,
  candidates: readonly number[],
): number[] {
  const { needed, unused } = osMsrNeeds(policy.vendor, (f) => profileAdvertises(profile, f));
  const forbidden = new Set(unused.map((n) => n.msr));
  const out = new Set<number>();
  for (const m of candidates) out.add(m >>> 0);
  for (const rule of msrRulesIn(policy)) {
    if (rule.access !== "permitted" || rule.hyperv || rule.nested) continue;
    for (const i of msrRuleIndices(rule)) out.add(i);
  }
  for (const n of needed) out.add(n.msr);
  for (const m of forbidden) out.delete(m);
  return [...out].sort((a, b) => a - b);
}

export interface GuestMsrProblem {
  kind: "os-msr-denied" | "os-msr-permitted";
  msr: number;
  /** The features involved: the advertised ones (denied), or the hidden ones (permitted). */
  features: string[];
  detail: string;
}

/** Where a profile's permitted list breaks a guest OS (an advertised feature's MSR denied) or leaks (a hidden feature's MSR permitted). */
export function guestMsrProblems(
  profile: Pick<Profile, "kind" | "vendor" | "cpuid" | "permittedMsrs">,
): GuestMsrProblem[] {
  if (profile.kind === "host") return [];
  const permitted = new Set(profile.permittedMsrs.map((m) => m >>> 0));
  const { needed, unused } = osMsrNeeds(profile.vendor, (f) => profileAdvertises(profile, f));
  const out: GuestMsrProblem[] = [];
  for (const n of needed) {
    if (permitted.has(n.msr)) continue;
    const by = n.features.length > 0 ? `advertises ${n.features.join(", ")}, so` : "is for an x86-64 guest, and";
    out.push({
      kind: "os-msr-denied",
      msr: n.msr,
      features: n.features,
      detail: `the profile ${by} a guest OS uses ${msrName(n.msr)} (${hex32(n.msr)}), which it does not permit (${n.use.why})`,
    });
  }
  for (const n of unused) {
    if (!permitted.has(n.msr)) continue;
    out.push({
      kind: "os-msr-permitted",
      msr: n.msr,
      features: [...n.use.anyOf],
      detail: `the profile permits ${msrName(n.msr)} (${hex32(n.msr)}) but hides ${n.use.anyOf.join(", ")}, the feature(s) it belongs to`,
    });
  }
  return out.sort((a, b) => a.msr - b.msr);
}
