// The baseline of a fleet: the most capable capture every input host can run, field by field
// under the policy's compare rules (baseline-profile.ts generates the profile from it).
import { InputError } from "../errors.ts";
import { REGISTERS, type CpuidEntry, type Register } from "../model/cpuid.ts";
import { hex32, hex64 } from "../model/hex.ts";
import { CAPABILITY_NAMES, normaliseHost, type FeatureMsr, type HostCapture } from "../model/host.ts";
import { cpuIdentityOf } from "../model/vendor.ts";
import type { Vendor } from "../model/vendor.ts";
import { leafGatesOf } from "../policy/index.ts";
import {
  featureMsrRule,
  foldMsr,
  foldRegister,
  registerRule,
  type CombineRule,
  type Disagreement,
} from "../fields/combine.ts";
import { compareHosts, describeHost } from "./host-order.ts";

export interface BaselineOptions {
  /** Names for the hosts in error messages (file names), by position; defaults to brand and signature. */
  labels?: readonly string[];
  /** Position of the host whose identity fields (family, model, brand) the baseline keeps; default: the least by content. */
  representative?: number;
}

/** How many disagreeing hosts an error names before it says "and N more". */
const NAMED_IN_ERROR = 4;

function labelOf(hosts: readonly HostCapture[], labels: readonly string[] | undefined, i: number): string {
  return labels?.[i] ?? describeHost(hosts[i]!);
}

function disagreementError<T extends number | bigint>(
  d: Disagreement<T>,
  where: string,
  hosts: readonly HostCapture[],
  labels: readonly string[] | undefined,
): InputError {
  const show = (v: T) => (typeof v === "bigint" ? hex64(v) : hex32(v));
  const parts = d.values.map(({ value, hosts: at }) => {
    const names = at.map((i) => labelOf(hosts, labels, i)).sort();
    const more = names.length > NAMED_IN_ERROR ? ` and ${names.length - NAMED_IN_ERROR} more` : "";
    return `${show(value)} on ${names.slice(0, NAMED_IN_ERROR).join(", ")}${more}`;
  });
  return new InputError(`baseline: hosts disagree on ${d.name} (${where}), which must be equal: ${parts.join("; ")}`);
}

function assertOneVendor(hosts: readonly HostCapture[], labels: readonly string[] | undefined): void {
  const vendors = [...new Set(hosts.map((h) => h.vendor))].sort();
  if (vendors.length <= 1) return;
  const example = (v: string) =>
    labelOf(
      hosts,
      labels,
      hosts.findIndex((h) => h.vendor === v),
    );
  throw new InputError(
    `baseline: hosts of different vendors: ${vendors.map((v) => `${v} (${example(v)})`).join(", ")}`,
  );
}

/** Position of the host whose identity fields (`none` compare) the baseline keeps: the least by content. */
function representative(hosts: readonly HostCapture[]): number {
  let best = 0;
  for (let i = 1; i < hosts.length; i++) if (compareHosts(hosts[i]!, hosts[best]!) < 0) best = i;
  return best;
}

/** Entries keyed by (function, index), kept only where every host has them, in canonical order. */
function commonLeaves(hosts: readonly HostCapture[]): CpuidEntry[][] {
  const byKey = new Map<string, CpuidEntry[]>();
  for (const h of hosts)
    for (const e of h.cpuid) {
      const key = `${e.function}/${e.index}`;
      const list = byKey.get(key);
      if (list) list.push(e);
      else if (h === hosts[0]) byKey.set(key, [e]);
    }
  return [...byKey.values()].filter((list) => list.length === hosts.length);
}

/**
 * Folds every register; hosts that disagree on an equal-only field block the baseline only where the result
 * has what the field describes (leaf-gates.ts): AMX palettes without AMX, or the layout of an XSAVE component
 * outside the result's XCR0/XSS, are zeroed (apply zeroes them too), not refused.
 */
function baselineCpuid(
  vendor: Vendor,
  hosts: readonly HostCapture[],
  rep: number,
  labels: readonly string[] | undefined,
): CpuidEntry[] {
  const out: CpuidEntry[] = [];
  const values: number[] = new Array<number>(hosts.length);
  const disagreements: { entry: CpuidEntry; register: Register; d: Disagreement<number> }[] = [];
  for (const entries of commonLeaves(hosts)) {
    const first = entries[0]!;
    const entry: CpuidEntry = { ...entries[rep]!, eax: 0, ebx: 0, ecx: 0, edx: 0 };
    for (const register of REGISTERS) {
      const rule: CombineRule<number> = registerRule(vendor, first.function, first.index, register);
      for (let i = 0; i < entries.length; i++) values[i] = entries[i]![register];
      const folded = foldRegister(rule, values, rep);
      if (typeof folded !== "number") disagreements.push({ entry, register, d: folded });
      else entry[register] = folded;
    }
    out.push(entry);
  }
  if (disagreements.length > 0) {
    const open = leafGatesOf(out);
    for (const { entry, register, d } of disagreements) {
      if (open(entry.function, entry.index))
        throw disagreementError(
          d,
          `leaf ${hex32(entry.function)} subleaf ${hex32(entry.index)} ${register}`,
          hosts,
          labels,
        );
      entry.eax = entry.ebx = entry.ecx = entry.edx = 0;
    }
  }
  return out;
}

function baselineFeatureMsrs(
  vendor: Vendor,
  hosts: readonly HostCapture[],
  rep: number,
  labels: readonly string[] | undefined,
): FeatureMsr[] {
  const byIndex = new Map<number, bigint[]>();
  for (const h of hosts)
    for (const m of h.featureMsrs) {
      const list = byIndex.get(m.index);
      if (list) list.push(m.value);
      else if (h === hosts[0]) byIndex.set(m.index, [m.value]);
    }
  const out: FeatureMsr[] = [];
  for (const [index, values] of byIndex) {
    if (values.length !== hosts.length) continue;
    const folded = foldMsr(featureMsrRule(vendor, index), values, rep);
    if (typeof folded !== "bigint") throw disagreementError(folded, `MSR ${hex32(index)}`, hosts, labels);
    out.push({ index, value: folded });
  }
  return out;
}

function intersectSorted(lists: readonly (readonly number[])[]): number[] {
  const counts = new Map<number, number>();
  for (const list of lists) for (const x of new Set(list)) counts.set(x, (counts.get(x) ?? 0) + 1);
  return [...counts]
    .filter(([, n]) => n === lists.length)
    .map(([x]) => x)
    .sort((a, b) => a - b);
}

function baselineKvm(hosts: readonly HostCapture[], rep: number): HostCapture["kvm"] {
  if (hosts.some((h) => h.kvm === null)) return null;
  const caps = Object.fromEntries(
    CAPABILITY_NAMES.map((name) => [name, Math.min(...hosts.map((h) => h.kvm!.capabilities[name]))]),
  ) as Record<(typeof CAPABILITY_NAMES)[number], number>;
  return { apiVersion: hosts[rep]!.kvm!.apiVersion, capabilities: caps };
}

/**
 * The meet of the hosts: subset fields ANDed, superset fields ORed, le fields at their minimum,
 * eq fields equal (else an InputError naming the hosts), none fields from the least host by content;
 * leaves, feature MSRs and saved MSRs that some host lacks are dropped. Input order never matters.
 */
export function baselineHost(hosts: readonly HostCapture[], options: BaselineOptions = {}): HostCapture {
  if (hosts.length === 0) throw new InputError("baseline: no hosts given");
  assertOneVendor(hosts, options.labels);
  const vendor = hosts[0]!.vendor;
  const rep = options.representative ?? representative(hosts);
  if (rep < 0 || rep >= hosts.length)
    throw new InputError(`baseline: representative ${rep} is not one of the ${hosts.length} hosts`);
  const cpuid = baselineCpuid(vendor, hosts, rep, options.labels);
  const { signature: sig, brand } = cpuIdentityOf(cpuid);
  const r = hosts[rep]!;
  return normaliseHost({
    source: r.source,
    vendor: r.vendor,
    vendorString: r.vendorString,
    family: sig?.family ?? r.family,
    model: sig?.model ?? r.model,
    stepping: sig?.stepping ?? r.stepping,
    brand: brand ?? r.brand,
    // a baseline runs no microcode and no kernel of its own; the profile's sourceHosts name the real ones
    kernel: null,
    microcode: null,
    kvm: baselineKvm(hosts, rep),
    cpuid,
    featureMsrs: baselineFeatureMsrs(vendor, hosts, rep, options.labels),
    msrIndexList: intersectSorted(hosts.map((h) => h.msrIndexList)),
  });
}
