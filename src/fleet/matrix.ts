// Which profile runs on which host, and so between which hosts a VM under each profile can move.
import type { HostCapture } from "../model/host.ts";
import type { Profile } from "../model/profile.ts";
import { compileCompatibility } from "../profile/compat-compiled.ts";

export interface MatrixHost {
  label: string;
  host: HostCapture;
  /** How many inputs had this capture (deduplicated by content); 1 when absent. */
  count?: number;
}

export interface MatrixProfile {
  name: string;
  profile: Profile;
}

export interface MatrixCell {
  host: string;
  profile: string;
  compatible: boolean;
  /** What the host lacks for the profile, by name (compat problems), each once, in the checker's order. */
  missing: string[];
}

export interface CompatibilityMatrix {
  /** Every distinct capture by label, with how many inputs had it. */
  hosts: { label: string; count: number }[];
  /** Host-major: hosts by label, then profiles by name. */
  cells: MatrixCell[];
  /**
   * For each migratable profile (by name; not the host profile), the hosts a VM under it can move
   * between, and how many machines those are. A group never mixes vendors.
   */
  groups: { profile: string; hosts: string[]; machines: number }[];
  /** True when every host runs every profile (matrix's exit code 0). */
  everyHostRunsEveryProfile: boolean;
}

export interface MatrixOptions {
  /** Check nested-virtualisation bits too (checkCompatibility's option). */
  nested?: boolean;
}

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Every host against every profile; the result does not depend on the order of either list. */
export function compatibilityMatrix(
  hosts: readonly MatrixHost[],
  profiles: readonly MatrixProfile[],
  options: MatrixOptions = {},
): CompatibilityMatrix {
  const hs = [...hosts].sort((a, b) => byText(a.label, b.label));
  const ps = [...profiles].sort((a, b) => byText(a.name, b.name));
  const compat = options.nested === undefined ? {} : { nested: options.nested };
  const cells: MatrixCell[] = [];
  // The host profile is not migratable (the guest sees each host's own CPU): it has no group.
  // A profile's group holds only hosts that run it, so only hosts of its vendor.
  const groups = ps.map((p) =>
    p.profile.kind === "host" ? undefined : { profile: p.name, hosts: [] as string[], machines: 0 },
  );
  // Each profile compiled once into masks; every cell is then a few operations per register.
  const compiled = ps.map((p) => compileCompatibility(p.profile, compat));
  for (const h of hs)
    ps.forEach((p, j) => {
      // Only the verdict and the names: no problem reports to build for the cells that fail.
      const report = compiled[j]!.missing(h.host);
      cells.push({ host: h.label, profile: p.name, compatible: report.compatible, missing: report.missing });
      const group = groups[j];
      if (report.compatible && group && h.host.vendor === p.profile.vendor) {
        group.hosts.push(h.label);
        group.machines += h.count ?? 1;
      }
    });
  return {
    hosts: hs.map((h) => ({ label: h.label, count: h.count ?? 1 })),
    cells,
    groups: groups.filter((g) => g !== undefined),
    everyHostRunsEveryProfile: cells.every((c) => c.compatible),
  };
}
