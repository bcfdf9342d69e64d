// verify: host compatibility of a profile, then (on a live host) what a real KVM guest sees under it.
import { embeddedProfile, embeddedProfileNames } from "../embedded/profiles.ts";
import { GuestError, InputError } from "../errors.ts";
import { runGuestProbe, type ProbeOptions } from "../guest/index.ts";
import { Kvm, KvmError } from "../kvm/index.ts";
import type { HostCapture } from "../model/host.ts";
import type { Profile } from "../model/profile.ts";
import { applyProfile, guestPermittedMsrs, type ApplyOptions, type CompatReport } from "../profile/apply.ts";
import { knownMsrsOf } from "../profile/filter.ts";
import { hostProfileOf } from "../profile/migration.ts";
import { classify } from "./classify.ts";
import { DIFFERENCE_CLASSES, isDifferenceClass, verdict, type Difference, type DifferenceClass } from "./difference.ts";
import { planProbe } from "./plan.ts";

export interface VerifyOptions extends Pick<ApplyOptions, "vcpuId" | "vcpuCount" | "nested" | "hyperv"> {
  /** Difference classes that do not fail the check (kvm-runtime never does). */
  allow?: readonly string[];
  /** An open /dev/kvm to reuse. */
  kvm?: Kvm;
  /** Run the guest check; default: when the capture came from KVM. False for a host loaded from a file. */
  guest?: boolean;
  /** Called before each profile is checked (progress feedback in a terminal). */
  onProfile?: (name: string, index: number, total: number) => void;
  /** Bounds, teardown and test hooks for the guest probe. */
  probe?: Pick<ProbeOptions, "timeLimitMs" | "maxRuns" | "alterImage" | "closeInBackground">;
}

export interface GuestSummary {
  runs: number;
  elapsedMs: number;
  cpuidProbes: number;
  msrProbes: number;
}

export interface VerifyResult {
  profile: string;
  compatibility: CompatReport;
  /** null when the guest check did not run (offline host, incompatible profile) or the guest misbehaved. */
  guest: GuestSummary | null;
  differences: Difference[];
  passed: boolean;
  /** Why the guest check could not complete (a misbehaving guest, KVM refusing the configuration). */
  error?: string;
}

/** Validates `--allow` class names; an unknown one is bad input. */
export function parseAllow(allow: readonly string[] = []): Set<DifferenceClass> {
  const out = new Set<DifferenceClass>();
  for (const a of allow) {
    if (!isDifferenceClass(a))
      throw new InputError(`--allow ${a}: not a difference class (one of ${DIFFERENCE_CLASSES.join(", ")})`);
    out.add(a);
  }
  return out;
}

/** KVM refusing the configuration itself is a failed check, not a broken environment. */
const CONFIG_IOCTLS: ReadonlySet<string> = new Set(["KVM_SET_CPUID2", "KVM_X86_SET_MSR_FILTER", "KVM_SET_MSRS"]);

export function verifyProfile(profile: Profile, host: HostCapture, options: VerifyOptions = {}): VerifyResult {
  const allow = parseAllow(options.allow);
  // verify shows what a guest sees even under a profile apply would refuse as unsafe for a guest OS
  const applyOptions: ApplyOptions = {
    vcpuId: options.vcpuId,
    vcpuCount: options.vcpuCount,
    nested: options.nested,
    hyperv: options.hyperv,
    checkGuestMsrs: false,
  };
  const config = applyProfile(profile, host, applyOptions);
  const base = { profile: profile.name, compatibility: config.report };
  const wantGuest = options.guest ?? host.source === "kvm";
  if (!config.report.compatible || !wantGuest)
    return { ...base, guest: null, differences: [], passed: config.report.compatible };

  const permitted = [...guestPermittedMsrs(profile, knownMsrsOf(host), applyOptions)];
  const plan = planProbe(config, host, permitted);
  try {
    const report = runGuestProbe({ cpuid: config.cpuid, msrs: config.msrs, filter: config.msrFilter }, plan, {
      ...options.probe,
      ...(options.kvm ? { kvm: options.kvm } : {}),
    });
    const differences = classify(config, host, report);
    return {
      ...base,
      guest: {
        runs: report.runs,
        elapsedMs: report.elapsedMs,
        cpuidProbes: report.cpuid.length,
        msrProbes: report.msrs.length,
      },
      differences,
      passed: verdict(differences, allow),
    };
  } catch (e) {
    const refused = e instanceof KvmError && CONFIG_IOCTLS.has(e.ioctl);
    if (!(e instanceof GuestError) && !refused) throw e;
    return { ...base, guest: null, differences: [], passed: false, error: (e as Error).message };
  }
}

export interface VerifyAllResult {
  results: VerifyResult[];
  /** The host profile and every compatible embedded profile passed the guest check. Incompatible ones are listed, not failures. */
  passed: boolean;
}

/**
 * The default job: the host profile first, then every embedded profile — compatibility for all,
 * and the guest check for each one this host can run.
 */
export function verifyAll(host: HostCapture, options: VerifyOptions = {}): VerifyAllResult {
  const wantGuest = options.guest ?? host.source === "kvm";
  using owned = wantGuest && !options.kvm ? Kvm.open() : undefined;
  const shared: VerifyOptions = {
    ...options,
    guest: wantGuest,
    ...((options.kvm ?? owned) ? { kvm: options.kvm ?? owned } : {}),
  };
  // The embedded "host" profile is the same as hostProfileOf(host): check it once.
  const embedded = embeddedProfileNames()
    .map((n) => embeddedProfile(n)!)
    .filter((p) => p.kind !== "host");
  const profiles = [hostProfileOf(host), ...embedded];
  const results = profiles.map((p, i) => {
    options.onProfile?.(p.name, i, profiles.length);
    return verifyProfile(p, host, shared);
  });
  return { results, passed: results.every((r) => r.passed || !r.compatibility.compatible) };
}
