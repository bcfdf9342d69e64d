// A total order on host captures by content, and a readable name for one, so fleet results never
// depend on the order hosts were given in and errors can say which host is meant.
import { compareCpuidKey, REGISTERS } from "../model/cpuid.ts";
import { hex32 } from "../model/hex.ts";
import type { HostCapture } from "../model/host.ts";

function compareText(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  return a < b ? -1 : 1;
}

function compareNumbers(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** Oldest-looking first (family, model, stepping), then every other byte of content; 0 only for identical captures. */
export function compareHosts(a: HostCapture, b: HostCapture): number {
  const head =
    a.family - b.family ||
    a.model - b.model ||
    a.stepping - b.stepping ||
    compareText(a.vendorString, b.vendorString) ||
    compareText(a.microcode, b.microcode) ||
    compareText(a.kernel, b.kernel) ||
    compareText(a.brand, b.brand) ||
    compareText(a.source, b.source) ||
    a.cpuid.length - b.cpuid.length ||
    a.featureMsrs.length - b.featureMsrs.length;
  if (head !== 0) return head;
  for (let i = 0; i < a.cpuid.length; i++) {
    const x = a.cpuid[i]!,
      y = b.cpuid[i]!;
    const c = compareCpuidKey(x, y) || x.flags - y.flags;
    if (c !== 0) return c;
    for (const r of REGISTERS) if (x[r] !== y[r]) return x[r] - y[r];
  }
  for (let i = 0; i < a.featureMsrs.length; i++) {
    const x = a.featureMsrs[i]!,
      y = b.featureMsrs[i]!;
    if (x.index !== y.index) return x.index - y.index;
    if (x.value !== y.value) return x.value < y.value ? -1 : 1;
  }
  const lists = compareNumbers(a.msrIndexList, b.msrIndexList);
  if (lists !== 0) return lists;
  const caps = (h: HostCapture) => (h.kvm ? [h.kvm.apiVersion, ...Object.values(h.kvm.capabilities)] : []);
  return compareNumbers(caps(a), caps(b));
}

/** How a report names a host that has no file name: brand, signature and microcode. */
export function describeHost(h: HostCapture): string {
  const brand = h.brand ?? h.vendorString;
  const micro = h.microcode === null ? "" : `, microcode ${h.microcode}`;
  return `${brand} (family ${hex32(h.family)} model ${hex32(h.model)} stepping ${h.stepping}${micro})`;
}
