// Snapshot restore and migration receive: can the destination take a vCPU's saved MSR values under the
// profile? Every saved MSR must be one the destination's KVM knows and restoreMsrs would write (its
// msrsToSave under the profile), and every crucial value (feature MSRs: IA32_ARCH_CAPABILITIES and
// friends) must be one the destination can offer, by the same rule apply uses for a profile's values
// (Cloud Hypervisor's, with its FB_CLEAR exception). Pure; the values come from saveMsrs on the source.
import { msrName } from "../catalogue/index.ts";
import { REGISTERS } from "../model/cpuid.ts";
import { hex32, hex64 } from "../model/hex.ts";
import type { HostCapture } from "../model/host.ts";
import type { CpuidAdjustment, Profile } from "../model/profile.ts";
import { applyProfile } from "./apply.ts";
import { checkCompatibility } from "./compat.ts";
import { knownMsrsOf } from "./filter.ts";
import { hostProfile } from "./generate.ts";
import { FEATURE_MSR_CRUCIAL, isCrucialMsr, isVmxCapabilityMsr } from "./vcpu-msrs.ts";

export interface SavedMsrValue {
  index: number;
  value: bigint;
}

export interface SavedMsrProblem {
  /** vendor | saved-unknown (the destination's KVM does not know it) | saved-not-restorable (not in its msrsToSave) | saved-crucial (a value it cannot take) */
  kind: "vendor" | "saved-unknown" | "saved-not-restorable" | "saved-crucial";
  name: string;
  detail: string;
  msr?: number;
}

export interface SavedMsrsReport {
  compatible: boolean;
  problems: SavedMsrProblem[];
}

/** A saved MSR whose value carries features or mitigations (a feature MSR marked crucial). */
function isCrucialSaved(index: number, dstFeature: ReadonlySet<number>): boolean {
  const featureMsr = dstFeature.has(index) || FEATURE_MSR_CRUCIAL.has(index) || isVmxCapabilityMsr(index);
  return featureMsr && isCrucialMsr(index);
}

/**
 * The destination's own rule for a profile's feature-MSR values, applied to the saved values: a profile
 * that fixes each crucial MSR to its saved value and passes every CPUID register through (so only the
 * MSR rules can fail), checked with checkCompatibility.
 */
function crucialValueProblems(crucial: readonly SavedMsrValue[], dst: HostCapture): SavedMsrProblem[] {
  if (crucial.length === 0) return [];
  const cpuid: CpuidAdjustment[] = dst.cpuid.flatMap((e) =>
    REGISTERS.map((register) => ({
      leaf: e.function,
      subleaf: { start: e.index, end: e.index },
      register,
      replacements: 0,
      mask: 0xffffffff,
    })),
  );
  const saved: Profile = {
    ...hostProfile(dst.vendor),
    name: "saved-msrs",
    kind: "profile",
    cpuid,
    msrs: crucial.map((m) => ({ index: m.index, replacements: m.value, mask: 0n })),
    permittedMsrs: [],
  };
  const report = checkCompatibility(saved, dst, { nested: true });
  return report.problems.map((p) => {
    const msr = p.msr ?? 0;
    const value = crucial.find((m) => m.index === msr)?.value ?? 0n;
    return {
      kind: "saved-crucial" as const,
      name: p.name,
      msr,
      // the rule's wording speaks of "the profile": here that is the saved value
      detail: `${msrName(msr)} (${hex32(msr)}) was saved as ${hex64(value)}, which the destination cannot take: ${p.detail.replaceAll("the profile", "the saved value")}`,
    };
  });
}

export function checkSavedMsrs(saved: readonly SavedMsrValue[], dst: HostCapture, profile?: Profile): SavedMsrsReport {
  const p = profile ?? hostProfile(dst.vendor);
  const problems: SavedMsrProblem[] = [];
  if (p.vendor !== dst.vendor)
    problems.push({
      kind: "vendor",
      name: "vendor",
      detail: `the profile is for ${p.vendor}, the destination is ${dst.vendor}: cross-vendor migration is unsupported`,
    });
  const known = new Set(knownMsrsOf(dst));
  const toSave = new Set(applyProfile(p, dst, { msrFilter: false }).msrsToSave);
  const dstFeature = new Set(dst.featureMsrs.map((m) => m.index));
  for (const m of [...saved].sort((a, b) => a.index - b.index)) {
    const name = msrName(m.index);
    if (!known.has(m.index))
      problems.push({
        kind: "saved-unknown",
        name,
        msr: m.index,
        detail: `${name} (${hex32(m.index)}) was saved on the source; the destination's KVM does not know it`,
      });
    else if (!toSave.has(m.index))
      problems.push({
        kind: "saved-not-restorable",
        name,
        msr: m.index,
        detail: `${name} (${hex32(m.index)}) was saved on the source but is not in the destination's msrsToSave under ${p.name} (the profile denies it, or the destination's KVM does not save it): restoreMsrs refuses it`,
      });
  }
  // A crucial MSR the destination does not offer as a feature MSR can only take 0 (KVM ignores a host write
  // of 0 to an MSR it does not support); one it does not know at all is already named above.
  const crucial = saved.filter((m) => isCrucialSaved(m.index, dstFeature) && known.has(m.index));
  for (const m of crucial.filter((c) => !dstFeature.has(c.index) && c.value !== 0n)) {
    const name = msrName(m.index);
    problems.push({
      kind: "saved-crucial",
      name,
      msr: m.index,
      detail: `${name} (${hex32(m.index)}) was saved as ${hex64(m.value)}; the destination's KVM does not offer it as a feature MSR`,
    });
  }
  problems.push(
    ...crucialValueProblems(
      crucial.filter((m) => dstFeature.has(m.index)),
      dst,
    ),
  );
  return { compatible: problems.length === 0, problems };
}
