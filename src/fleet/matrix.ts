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
  /** For each profile (by name), the hosts a VM under it can move between, and how many machines those are. */
  groups: { profile: string; hosts: string[]; machines: number }[];
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
  const groups = ps.map((p) => ({ profile: p.name, hosts: [] as string[], machines: 0 }));
  // Each profile compiled once into masks; every cell is then a few operations per register.
  const compiled = ps.map((p) => compileCompatibility(p.profile, compat));
  for (const h of hs)
    ps.forEach((p, j) => {
      const report = compiled[j]!.check(h.host);
      cells.push({ host: h.label, profile: p.name, compatible: report.compatible, missing: [...new Set(report.problems.map((x) => x.name))] });
      if (report.compatible) {
        groups[j]!.hosts.push(h.label);
        groups[j]!.machines += h.count ?? 1;
      }
    });
  return { hosts: hs.map((h) => ({ label: h.label, count: h.count ?? 1 })), cells, groups };
}

/** How many missing names a matrix cell shows before "+N". */
const MISSING_SHOWN = 3;

/** A table (hosts down, profiles across: "ok" or what is missing) and one line per profile group. */
export function formatMatrix(m: CompatibilityMatrix): string {
  const profiles = m.groups.map((g) => g.profile);
  const cellText = (c: { compatible: boolean; missing: string[] }) =>
    c.compatible
      ? "ok"
      : "no: " + c.missing.slice(0, MISSING_SHOWN).join(" ") + (c.missing.length > MISSING_SHOWN ? ` +${c.missing.length - MISSING_SHOWN}` : "");
  const rows: string[][] = [];
  const deduplicated = m.hosts.some((h) => h.count > 1);
  // cells are host-major with one cell per profile, so each run of profiles.length cells is one row
  for (let i = 0, k = 0; i < m.cells.length; i += profiles.length, k++) {
    const run = m.cells.slice(i, i + profiles.length);
    const count = m.hosts[k]!.count;
    rows.push([deduplicated ? `${run[0]!.host} x${count}` : run[0]!.host, ...run.map(cellText)]);
  }
  const header = ["host", ...profiles];
  const widths = header.map((_, k) => Math.max(header[k]!.length, ...rows.map((r) => r[k]!.length)));
  const line = (r: string[]) => r.map((x, k) => x.padEnd(widths[k]!)).join("  ").trimEnd();
  const out = [line(header), ...rows.map(line), ""];
  const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;
  for (const g of m.groups) {
    const machines = deduplicated ? ` (${plural(g.machines, "machine")})` : "";
    out.push(`${g.profile}: ${g.hosts.length === 0 ? "no host" : `${plural(g.hosts.length, "host")}${machines}: ${g.hosts.join(", ")}`}`);
  }
  if (deduplicated) {
    const total = m.hosts.reduce((a, h) => a + h.count, 0);
    out.push("", `${plural(total, "capture")}, ${m.hosts.length} distinct (identical captures counted once, "xN" how many)`);
  }
  return out.join("\n") + "\n";
}
