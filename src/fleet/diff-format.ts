// The human form of a ConfigDiff: one section per kind of difference, only the sections that have
// lines, every line within a width (feature lists fold under a hanging indent). And which of its
// fields the policy leaves to the host, so `diff` can hide them unless asked (--all).
import { REGISTERS, type Register } from "../model/cpuid.ts";
import type { Vendor } from "../model/vendor.ts";
import { cpuidFieldsFor, policyFor } from "../policy/index.ts";
import type { ConfigDiff, DifferenceSet, NamedMsr } from "./diff.ts";

/** The width every line keeps within unless a single name is longer. */
export const DIFF_WIDTH = 100;

const WHERE_RE = /^0x([0-9a-f]+)\.(\d+)\.(eax|ebx|ecx|edx)\[(\d+)(?::(\d+))?\]$/;

/** True when the policy of `vendor` leaves the CPUID field at `where` (`0x4.0.ebx[31:0]`) to the host (passthrough). */
export function leftToHostByPolicy(vendor: Vendor, where: string): boolean {
  const m = WHERE_RE.exec(where);
  if (!m) return false;
  const register = m[3] as Register;
  if (!REGISTERS.includes(register)) return false;
  const lsb = Number(m[5] ?? m[4]);
  const field = cpuidFieldsFor(policyFor(vendor), Number.parseInt(m[1]!, 16), Number(m[2]), register).find(
    (f) => f.lsb <= lsb && lsb <= f.msb,
  );
  return field?.action.kind === "passthrough";
}

/**
 * The diff without the CPUID fields the policy leaves to the host (topology, caches, XSAVE sizes,
 * brand string: what differs between any two machines and no profile fixes), and how many it hid.
 */
export function withoutHostFields(diff: ConfigDiff, vendor: Vendor): { diff: ConfigDiff; hidden: number } {
  const keep = (x: { where: string }) => !leftToHostByPolicy(vendor, x.where);
  const cpuid = {
    ...diff.cpuid,
    numeric: diff.cpuid.numeric.filter(keep),
    leftToHost: diff.cpuid.leftToHost.filter(keep),
  };
  const hidden =
    diff.cpuid.numeric.length + diff.cpuid.leftToHost.length - cpuid.numeric.length - cpuid.leftToHost.length;
  return { diff: { ...diff, cpuid, equal: diffIsEmpty({ ...diff, cpuid }) }, hidden };
}

/** True when nothing differs. */
export function diffIsEmpty(d: Omit<ConfigDiff, "equal">): boolean {
  return (
    d.vendor === null &&
    [d.cpuid, d.msrs].every(
      (s) => s.onlyInA.length + s.onlyInB.length + s.numeric.length + s.leftToHost.length === 0,
    ) &&
    d.msrs.msrsOnlyInA.length + d.msrs.msrsOnlyInB.length === 0 &&
    d.permitted.onlyInA.length + d.permitted.onlyInB.length === 0 &&
    d.permitted.unrestrictedIn === null
  );
}

/** `head` then the items, folded to `width` under a hanging indent. */
function folded(head: string, items: readonly string[], width: number): string[] {
  const hang = " ".repeat(head.length + 1);
  const lines: string[] = [];
  let cur = head;
  for (const item of items) {
    if (cur.length + 1 + item.length > width && cur !== head) {
      lines.push(cur);
      cur = hang + item;
    } else cur = `${cur} ${item}`;
  }
  lines.push(cur);
  return lines;
}

function msrItems(list: readonly NamedMsr[]): string[] {
  return list.map(
    (m, i) => (m.name === m.index ? m.index : `${m.name} (${m.index})`) + (i < list.length - 1 ? "," : ""),
  );
}

/** A bit the catalogue has no name for is named by its location (`0x1.0.eax[14]`, `arch_capabilities[30]`). */
const UNNAMED_RE = /^(0x[0-9a-f]+\.\d+\.e[a-d]x|[\w]+)\[\d+(:\d+)?\]$/;

/** Named items as they are; unnamed bits as one count at the end (every bit with --all). */
function named(items: readonly { name: string }[], all: boolean): string[] {
  if (all) return items.map((x) => x.name);
  const names = items.map((x) => x.name).filter((n) => !UNNAMED_RE.test(n));
  const unnamed = items.length - names.length;
  return unnamed ? [...names, `(+${unnamed} unnamed bit${unnamed === 1 ? "" : "s"})`] : names;
}

/** Above this many, fields one side leaves to the host are one list of names, not a line each. */
const LEFT_TO_HOST_LINES = 8;

function setLines(
  title: string,
  set: DifferenceSet,
  labelA: string,
  labelB: string,
  width: number,
  all: boolean,
): string[] {
  const out: string[] = [];
  if (set.onlyInA.length > 0) out.push(...folded(`  ${title} only in ${labelA}:`, named(set.onlyInA, all), width));
  if (set.onlyInB.length > 0) out.push(...folded(`  ${title} only in ${labelB}:`, named(set.onlyInB, all), width));
  for (const n of set.numeric) out.push(`  ${n.name} (${n.where}): ${labelA} ${n.a}, ${labelB} ${n.b}`);
  if (!all && set.leftToHost.length > LEFT_TO_HOST_LINES) {
    // A profile against the host profile (which fixes nothing): the fields, by name, not a line each.
    for (const side of ["a", "b"] as const) {
      const items = set.leftToHost.filter((h) => h.leftToHostIn === side);
      if (!items.length) continue;
      const [host, fixed] = side === "a" ? [labelA, labelB] : [labelB, labelA];
      // What the fixing side sets (features on, numeric values); the fields it fixes to 0 are counted.
      const nonZero = items.filter((h) => !/^0x0+$/.test(h.fixed));
      const zero = items.length - nonZero.length;
      const names = [...new Set(named(nonZero, false))];
      out.push(
        ...folded(
          `  left to the host in ${host}, fixed by ${fixed} (${items.length}), set:`,
          [...names, ...(zero ? [`(+${zero} fixed to 0)`] : [])],
          width,
        ),
      );
    }
    return out;
  }
  for (const h of set.leftToHost) {
    const [host, fixed] = h.leftToHostIn === "a" ? [labelA, labelB] : [labelB, labelA];
    out.push(`  ${h.name} (${h.where}): left to the host in ${host}, ${fixed} fixes ${h.fixed}`);
  }
  return out;
}

/**
 * Lines a person reads top to bottom; "no differences" when the diff is equal. Labels longer than
 * a short name (paths) become A and B, named once in the header, so lines stay within `width`.
 */
export function formatDiff(diff: ConfigDiff, labelA: string, labelB: string, width = DIFF_WIDTH, all = false): string {
  if (diff.equal) return `${labelA} and ${labelB}: no differences\n`;
  const short = labelA.length <= 24 && labelB.length <= 24;
  const lines: string[] = short ? [`${labelA} (A) vs ${labelB} (B):`] : [`A: ${labelA}`, `B: ${labelB}`];
  const [a, b] = short ? [labelA, labelB] : ["A", "B"];
  if (diff.vendor) {
    lines.push(`  vendor: ${a} ${diff.vendor.a}, ${b} ${diff.vendor.b}`);
    // Bits of one vendor read by the other's names say nothing: the vendor is the difference.
    if (!all)
      return (
        [...lines, "  (a profile never runs on the other vendor's hosts; --all compares the bits anyway)"].join("\n") +
        "\n"
      );
  }
  const cpuid = setLines("CPUID features", diff.cpuid, a, b, width, all);
  if (cpuid.length > 0) lines.push("CPUID:", ...cpuid);
  const msrs = setLines("MSR features", diff.msrs, a, b, width, all);
  if (diff.msrs.msrsOnlyInA.length > 0)
    msrs.unshift(...folded(`  feature MSRs only in ${a}:`, msrItems(diff.msrs.msrsOnlyInA), width));
  if (diff.msrs.msrsOnlyInB.length > 0)
    msrs.unshift(...folded(`  feature MSRs only in ${b}:`, msrItems(diff.msrs.msrsOnlyInB), width));
  if (msrs.length > 0) lines.push("Feature MSRs:", ...msrs);
  const p = diff.permitted;
  const permitted: string[] = [];
  if (p.unrestrictedIn) permitted.push(`  ${p.unrestrictedIn === "a" ? a : b} permits every MSR`);
  if (p.onlyInA.length > 0) permitted.push(...folded(`  only in ${a}:`, msrItems(p.onlyInA), width));
  if (p.onlyInB.length > 0) permitted.push(...folded(`  only in ${b}:`, msrItems(p.onlyInB), width));
  if (permitted.length > 0) lines.push("Permitted MSRs:", ...permitted);
  return `${lines.join("\n")}\n`;
}
