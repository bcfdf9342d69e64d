// Human text for compatibility reports and guest changes (formatting only).
import type { HostCapture } from "../model/host.ts";
import type { Profile } from "../model/profile.ts";
import type { CpuidEntry } from "../model/cpuid.ts";
import { guestChanges } from "../profile/describe.ts";
import { printable } from "../model/document.ts";
import { foldText, wrapList } from "./table.ts";

export interface ReportLike {
  compatible: boolean;
  problems: readonly { kind: string; name: string; detail: string }[];
  notes: readonly string[];
}

export function hostLabel(h: HostCapture): string {
  return printable(h.brand ?? `${h.vendor} family ${h.family} model ${h.model}`, 80);
}

/** "kind: detail", naming the feature once (details usually start with it). */
export function problemLine(p: { kind: string; name: string; detail: string }): string {
  const detail = printable(p.detail, 240);
  return detail.startsWith(p.name) ? `${p.kind}: ${detail}` : `${p.kind}: ${printable(p.name, 80)}: ${detail}`;
}

export function formatReport(profileName: string, host: HostCapture, report: ReportLike): string {
  const head = `${profileName} on ${hostLabel(host)}: ${report.compatible ? "compatible" : "INCOMPATIBLE"}\n`;
  const problems = report.problems.map((p) => `  ${problemLine(p)}\n`).join("");
  const notes = report.notes.map((n) => `  note: ${printable(n, 200)}\n`).join("");
  return head + foldText(problems + notes);
}

/** Hidden features grouped by the policy's reason: the names, then the reason once, all within 100 columns. */
export function formatHidden(hidden: readonly { name: string; why: string | null }[]): string {
  const byWhy = new Map<string, string[]>();
  for (const h of hidden) byWhy.set(h.why ?? "", [...(byWhy.get(h.why ?? "") ?? []), h.name]);
  let out = "";
  for (const [why, names] of byWhy) {
    out += wrapList(names);
    out += why
      ? wrapList(`why: ${printable(why, 400)}`.split(" "), "    ")
      : "    why: the policy hides it (no reason recorded)\n";
  }
  return out;
}

export function formatGuestChanges(
  profile: Profile,
  host: HostCapture,
  config: { cpuid: CpuidEntry[]; msrs: readonly { index: number; value: bigint }[] },
): string {
  const c = guestChanges(host.vendor, host.cpuid, config.cpuid, host.featureMsrs, config.msrs);
  let out = `\nWhat the guest sees compared with this host (profile ${profile.name}):\n`;
  out += `hidden from the guest (${c.hidden.length}):\n${wrapList(c.hidden)}`;
  out += `added for the guest (${c.added.length}):\n${wrapList(c.added)}`;
  if (c.fields.length)
    out += `fields changed (${c.fields.length}):\n${c.fields.map((f) => `  ${f.name}: ${f.from} -> ${f.to}\n`).join("")}`;
  if (c.msrs.length)
    out += `feature MSRs changed (${c.msrs.length}):\n${c.msrs.map((f) => `  ${f.name}: ${f.from} -> ${f.to}\n`).join("")}`;
  return foldText(out);
}
