// The human form of a CompatibilityMatrix, within a line width: a table (hosts down, profiles
// across) when it fits, otherwise one block per profile; then the migration groups.
import { wrapHanging } from "./table.ts";
import type { CompatibilityMatrix, MatrixCell } from "../fleet/matrix.ts";

/** How many missing names a cell shows before "+N". */
const MISSING_SHOWN = 3;
/** The width every line keeps within: what a terminal shows without wrapping. */
export const MATRIX_WIDTH = 100;

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;

function cellText(c: MatrixCell): string {
  if (c.compatible) return "ok";
  const shown = c.missing.slice(0, MISSING_SHOWN).join(" ");
  return `no: ${shown}${c.missing.length > MISSING_SHOWN ? ` +${c.missing.length - MISSING_SHOWN}` : ""}`;
}

/** `text` cut to `width` characters, marking the cut. */
function fit(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, Math.max(0, width - 1))}…`;
}

export function formatMatrix(m: CompatibilityMatrix, width = MATRIX_WIDTH): string {
  const profiles = [...new Set(m.cells.map((c) => c.profile))];
  const deduplicated = m.hosts.some((h) => h.count > 1);
  const hostLabel = (k: number) => (deduplicated ? `${m.hosts[k]!.label} x${m.hosts[k]!.count}` : m.hosts[k]!.label);
  // cells are host-major with one cell per profile, so each run of profiles.length cells is one row
  const rows: MatrixCell[][] = [];
  for (let i = 0; i < m.cells.length; i += profiles.length) rows.push(m.cells.slice(i, i + profiles.length));
  const header = ["host", ...profiles];
  const table = rows.map((run, k) => [hostLabel(k), ...run.map(cellText)]);
  const widths = header.map((_, k) => Math.max(header[k]!.length, ...table.map((r) => r[k]!.length)));
  const line = (r: string[]) =>
    r
      .map((x, k) => x.padEnd(widths[k]!))
      .join("  ")
      .trimEnd();
  const out: string[] = [];
  const list = (head: string, labels: readonly string[]) =>
    out.push(
      ...wrapHanging(
        head,
        labels.map((l, i) => (i < labels.length - 1 ? `${l},` : l)),
        "  ",
        width,
      )
        .trimEnd()
        .split("\n"),
    );
  const groupOf = new Map(m.groups.map((g) => [g.profile, g]));
  if (widths.reduce((a, w) => a + w + 2, -2) <= width) {
    out.push(line(header), ...table.map(line));
    out.push("", "Migration groups (the hosts a VM under the profile can move between; 'host' is not migratable):");
    for (const g of m.groups) {
      const machines = deduplicated ? ` (${plural(g.machines, "machine")})` : "";
      list(
        `${g.profile}: ${g.hosts.length === 0 ? "no host" : `${plural(g.hosts.length, "host")}${machines}:`}`,
        g.hosts,
      );
    }
  }
  // Too wide for a table: a block per profile, whose "ok" hosts are its migration group.
  else
    profiles.forEach((profile, j) => {
      const cells = rows.map((run, k) => ({ label: hostLabel(k), cell: run[j]! }));
      const ok = cells.filter((c) => c.cell.compatible);
      const vendor = cells.filter((c) => !c.cell.compatible && c.cell.missing.includes("vendor"));
      const lacking = cells.filter((c) => !c.cell.compatible && !c.cell.missing.includes("vendor"));
      const group = groupOf.get(profile);
      const machines = group && deduplicated ? `, ${plural(group.machines, "machine")}` : "";
      out.push(
        `${profile}: runs on ${ok.length} of ${plural(cells.length, "host")}${machines}${group ? "" : " (not migratable: no group)"}`,
      );
      if (ok.length)
        list(
          group ? "ok, migration group:" : "ok:",
          ok.map((c) => c.label),
        );
      for (const c of lacking) out.push(fit(`  ${cellText(c.cell).replace(/^no: /, "no: ")} (${c.label})`, width));
      if (vendor.length)
        list(
          "other vendor:",
          vendor.map((c) => c.label),
        );
    });
  if (deduplicated) {
    const total = m.hosts.reduce((a, h) => a + h.count, 0);
    out.push(
      "",
      `${plural(total, "capture")}, ${m.hosts.length} distinct (identical captures counted once, "xN" how many)`,
    );
  }
  out.push(
    "",
    m.everyHostRunsEveryProfile ? "every host runs every profile" : "not every host runs every profile (exit 1)",
  );
  return `${out.map((l) => fit(l, width)).join("\n")}\n`;
}
