// The human form of a ConfigDiff: one section per kind of difference, only the sections that have lines.
import type { ConfigDiff, DifferenceSet, NamedMsr } from "./diff.ts";

function names(list: readonly { name: string }[]): string {
  return list.map((x) => x.name).join(" ");
}

function msrList(list: readonly NamedMsr[]): string {
  return list.map((m) => (m.name === m.index ? m.index : `${m.name} (${m.index})`)).join(", ");
}

function setLines(title: string, set: DifferenceSet, labelA: string, labelB: string): string[] {
  const out: string[] = [];
  if (set.onlyInA.length > 0) out.push(`  ${title} only in ${labelA}: ${names(set.onlyInA)}`);
  if (set.onlyInB.length > 0) out.push(`  ${title} only in ${labelB}: ${names(set.onlyInB)}`);
  for (const n of set.numeric) out.push(`  ${n.name} (${n.where}): ${labelA} ${n.a}, ${labelB} ${n.b}`);
  for (const h of set.leftToHost) {
    const [host, fixed] = h.leftToHostIn === "a" ? [labelA, labelB] : [labelB, labelA];
    out.push(`  ${h.name} (${h.where}): left to the host in ${host}, ${fixed} fixes ${h.fixed}`);
  }
  return out;
}

/** Lines a person reads top to bottom; "no differences" when the diff is equal. */
export function formatDiff(diff: ConfigDiff, labelA: string, labelB: string): string {
  if (diff.equal) return `${labelA} and ${labelB}: no differences\n`;
  const lines: string[] = [`${labelA} (A) vs ${labelB} (B):`];
  if (diff.vendor) lines.push(`  vendor: ${labelA} ${diff.vendor.a}, ${labelB} ${diff.vendor.b}`);
  const cpuid = setLines("CPUID features", diff.cpuid, labelA, labelB);
  if (cpuid.length > 0) lines.push("CPUID:", ...cpuid);
  const msrs = setLines("MSR features", diff.msrs, labelA, labelB);
  if (diff.msrs.msrsOnlyInA.length > 0) msrs.unshift(`  feature MSRs only in ${labelA}: ${msrList(diff.msrs.msrsOnlyInA)}`);
  if (diff.msrs.msrsOnlyInB.length > 0) msrs.unshift(`  feature MSRs only in ${labelB}: ${msrList(diff.msrs.msrsOnlyInB)}`);
  if (msrs.length > 0) lines.push("Feature MSRs:", ...msrs);
  const p = diff.permitted;
  const permitted: string[] = [];
  if (p.unrestrictedIn) permitted.push(`  ${p.unrestrictedIn === "a" ? labelA : labelB} permits every MSR`);
  if (p.onlyInA.length > 0) permitted.push(`  only in ${labelA}: ${msrList(p.onlyInA)}`);
  if (p.onlyInB.length > 0) permitted.push(`  only in ${labelB}: ${msrList(p.onlyInB)}`);
  if (permitted.length > 0) lines.push("Permitted MSRs:", ...permitted);
  return lines.join("\n") + "\n";
}
