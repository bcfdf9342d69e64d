// TEMPORARY stand-ins for src/policy/index.ts and src/profile/compat.ts (being written in parallel),
// with their agreed signatures. Replaced by re-exports as soon as those modules land.
import type { HostCapture } from "../model/host.ts";
import type { Profile } from "../model/profile.ts";
import type { Vendor } from "../model/vendor.ts";
import type { Policy } from "../policy/types.ts";

export interface CompatProblem {
  kind: string;
  name: string;
  detail: string;
  leaf?: number;
  subleaf?: number;
  register?: string;
  bit?: number;
  msr?: number;
}

export interface CompatReport {
  compatible: boolean;
  problems: CompatProblem[];
  notes: string[];
}

export function policyFor(vendor: Vendor): Policy {
  return { vendor, cpuid: [], msrFields: [], msrs: [] };
}

export function checkCompatibility(profile: Profile, host: HostCapture, _options: { nested?: boolean } = {}): CompatReport {
  const problems: CompatProblem[] =
    profile.vendor === host.vendor ? [] : [{ kind: "vendor", name: "vendor", detail: `profile is ${profile.vendor}, host is ${host.vendor}` }];
  return { compatible: problems.length === 0, problems, notes: [] };
}
