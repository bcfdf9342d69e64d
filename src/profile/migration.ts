// Can a guest started on SRC move to DST? With a profile, the guest sees the profile on both hosts, so the
// profile must apply to each of them by apply's own rules (checkCompatibility). Without one, the guest sees
// SRC's full KVM CPUID and feature MSRs (the host profile): that view, with every bit fixed, must apply to DST.
// One set of rules for apply, verify, matrix and migration, so they never disagree.
import { msrName } from "../catalogue/index.ts";
import { REGISTERS, isIndexedLeaf } from "../model/cpuid.ts";
import { hex32 } from "../model/hex.ts";
import type { HostCapture } from "../model/host.ts";
import type { CpuidAdjustment, Profile } from "../model/profile.ts";
import { applyContextFor, applyProfileWith, guestPermittedMsrs, type ApplyContext } from "./apply.ts";
import type { CompatProblem } from "./compat.ts";
import { knownMsrsOf } from "./filter.ts";
import { hostProfile } from "./generate.ts";

export type MigrationSide = "source" | "destination";

/** A compatibility problem on one side: `side` is the host the guest's view does not apply to. */
export type MigrationProblem = CompatProblem & { side: MigrationSide };

export interface MigrationReport {
  compatible: boolean;
  problems: MigrationProblem[];
  notes: string[];
}

/** The host profile for one host (verify checks it first). */
export function hostProfileOf(host: HostCapture): Profile {
  return hostProfile(host.vendor);
}

/** A whole register for every subleaf of a non-indexed leaf, one subleaf otherwise. */
const ALL_SUBLEAVES = { start: 0, end: 0xffffffff };

/**
 * What a guest under the host profile sees on `host`, as a profile with every bit fixed: its CPUID table
 * (KVM's supported CPUID, after apply's own adjustments) and feature-MSR values, and every MSR the host knows.
 */
export function guestViewProfile(ctx: ApplyContext, host: HostCapture): Profile {
  const view = applyProfileWith(ctx, hostProfile(host.vendor), host, { msrFilter: false });
  const cpuid: CpuidAdjustment[] = [];
  for (const e of view.cpuid)
    for (const register of REGISTERS)
      if (e[register] !== 0)
        cpuid.push({
          leaf: e.function,
          subleaf: isIndexedLeaf(e.function) ? { start: e.index, end: e.index } : { ...ALL_SUBLEAVES },
          register,
          replacements: e[register] >>> 0,
          mask: 0,
        });
  return {
    ...hostProfile(host.vendor),
    name: "host-guest-view",
    kind: "profile",
    description: "the guest's view under the host profile",
    cpuid,
    msrs: view.msrs.map((m) => ({ index: m.index, replacements: m.value, mask: 0n })),
    permittedMsrs: knownMsrsOf(host),
  };
}

function onSide(side: MigrationSide, problems: readonly CompatProblem[]): MigrationProblem[] {
  return problems.map((p) => ({ ...p, side }));
}

/** checkMigration with an explicit apply context (tests use small hand-made policies). */
export function checkMigrationWith(
  ctx: ApplyContext,
  src: HostCapture,
  dst: HostCapture,
  profile?: Profile,
): MigrationReport {
  const guest = profile ?? guestViewProfile(ctx, src);
  const problems: MigrationProblem[] = [];
  const notes: string[] = [];
  if (profile) {
    const onSrc = ctx.check(profile, src, {});
    problems.push(...onSide("source", onSrc.problems));
  }
  const onDst = ctx.check(guest, dst, {});
  problems.push(...onSide("destination", onDst.problems));

  // An MSR the guest may touch on SRC that DST's KVM does not know cannot be restored there: worth a note.
  // It is not a failure: permitted MSRs a host does not know are harmless to apply, and the fixtures' MSR lists are partial.
  const dstKnown = new Set(knownMsrsOf(dst));
  const srcKnown = new Set(knownMsrsOf(src));
  const accessible = guestPermittedMsrs(guest, [...srcKnown], {}).filter((m) => srcKnown.has(m));
  const lost = [...new Set(accessible)].filter((m) => !dstKnown.has(m)).sort((a, b) => a - b);
  if (lost.length > 0)
    notes.push(
      `${lost.length} MSR(s) the guest may access on the source are unknown to the destination's KVM: ${lost
        .slice(0, 8)
        .map((m) => `${msrName(m)} (${hex32(m)})`)
        .join(", ")}${lost.length > 8 ? ", …" : ""}`,
    );

  // A vendor mismatch shows on both sides; name it once.
  const seen = new Set<string>();
  const unique = problems.filter((x) => {
    const k = x.kind === "vendor" ? "vendor" : `${x.side}/${x.kind}/${x.name}/${x.detail}`;
    return seen.has(k) ? false : (seen.add(k), true);
  });
  return { compatible: unique.length === 0, problems: unique, notes };
}

export function checkMigration(src: HostCapture, dst: HostCapture, profile?: Profile): MigrationReport {
  return checkMigrationWith(applyContextFor(profile?.vendor ?? src.vendor), src, dst, profile);
}
