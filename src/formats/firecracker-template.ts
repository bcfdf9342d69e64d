import { policyFor } from "../policy/index.ts";
import { reconcilePermittedMsrs } from "../profile/guest-msrs.ts";
import { InputError } from "../errors.ts";
import { CPUID_FLAG_SIGNIFICANT_INDEX, REGISTERS, isIndexedLeaf, type Register } from "../model/cpuid.ts";
import { parseJsonText, parseWith, printable, stableJson } from "../model/document.ts";
import { hex32 } from "../model/hex.ts";
import type { HostCapture } from "../model/host.ts";
import {
  checkProfile,
  findAdjustment,
  normaliseProfile,
  checkProfileName,
  type CpuidAdjustment,
  type MsrAdjustment,
  type Profile,
} from "../model/profile.ts";
import type { Vendor } from "../model/vendor.ts";
import { TOOL_VERSION } from "../version.ts";
import { formatTriBitmap, type TriBits } from "./bitmap.ts";
import { CPUID_BITS, MSR_BITS, templateSchema } from "./firecracker-schema.ts";

const U32_MAX = 0xffffffff;
const ALL_SUBLEAVES = { start: 0, end: U32_MAX } as const;
/** Marks a non-indexed leaf's register as mentioned for every subleaf. */
const WHOLE_LEAF = -1;
const MASK64 = (1n << 64n) - 1n;

function range(first: number, last: number): number[] {
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}

/**
 * Leaves whose unmentioned registers keep the host's value on import without a host:
 * every basic leaf up to 0x24 (AVX10, the highest KVM reports), KVM's hypervisor leaves,
 * and every extended leaf up to 0x80000026. A keep adjustment for a leaf the host lacks is harmless.
 */
export const KEEP_HOST_LEAVES: readonly number[] = [
  ...range(0x0, 0x24),
  0x40000000,
  0x40000001,
  ...range(0x80000000, 0x80000026),
];

/** An indexed leaf without a host expands a subleaf range into at most this many template entries. */
export const MAX_EXPANDED_SUBLEAVES = 64;

export interface TemplateImportOptions {
  vendor: Vendor;
  name: string;
  description?: string;
  /** The host the template is meant for: its leaves and MSRs replace the generic lists above. */
  host?: HostCapture;
}

const indexed = (leaf: number, flags: number) => isIndexedLeaf(leaf) || (flags & CPUID_FLAG_SIGNIFICANT_INDEX) !== 0;

/** Ranges of [0, U32_MAX] not in `taken` (sorted distinct subleaves). */
function complement(taken: readonly number[]): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  let next = 0;
  for (const t of taken) {
    if (t > next) out.push({ start: next, end: t - 1 });
    next = t + 1;
  }
  if (next <= U32_MAX) out.push({ start: next, end: U32_MAX });
  return out;
}

export function importFirecrackerTemplate(text: string, file: string, opts: TemplateImportOptions): Profile {
  checkProfileName(opts.name);
  const t = parseWith(templateSchema, parseJsonText(text, file), file);
  const where = printable(file, 200);

  const cpuid: CpuidAdjustment[] = [];
  /** subleaves the template mentions per "leaf/register"; a non-indexed leaf mentions them all. */
  const mentioned = new Map<string, number[]>();
  const seen = new Set<string>();
  t.cpuid_modifiers.forEach((m, i) => {
    const leaf = Number(m.leaf);
    const subleaf = Number(m.subleaf);
    const isIndexed = indexed(leaf, m.flags);
    const key = isIndexed ? `${leaf}/${subleaf}` : `${leaf}`;
    if (seen.has(key))
      throw new InputError(
        `${where}: $.cpuid_modifiers[${i}]: duplicate leaf ${hex32(leaf)} subleaf ${hex32(subleaf)}`,
      );
    seen.add(key);
    const regs = new Set<Register>();
    m.modifiers.forEach((r, j) => {
      if (regs.has(r.register))
        throw new InputError(`${where}: $.cpuid_modifiers[${i}].modifiers[${j}]: duplicate register ${r.register}`);
      regs.add(r.register);
      const bits: TriBits = r.bitmap;
      cpuid.push({
        leaf,
        subleaf: isIndexed ? { start: subleaf, end: subleaf } : { ...ALL_SUBLEAVES },
        register: r.register,
        replacements: Number(bits.ones),
        mask: Number(bits.keep),
      });
      const k = `${leaf}/${r.register}`;
      mentioned.set(k, isIndexed ? [...(mentioned.get(k) ?? []), subleaf] : [WHOLE_LEAF]);
    });
  });

  const leaves = opts.host ? [...new Set(opts.host.cpuid.map((e) => e.function))] : KEEP_HOST_LEAVES;
  for (const leaf of [...new Set([...leaves, ...t.cpuid_modifiers.map((m) => Number(m.leaf))])])
    for (const register of REGISTERS) {
      const taken = mentioned.get(`${leaf}/${register}`) ?? [];
      if (taken.includes(WHOLE_LEAF)) continue;
      for (const subleaf of complement([...new Set(taken)].sort((a, b) => a - b)))
        cpuid.push({ leaf, subleaf, register, replacements: 0, mask: U32_MAX });
    }

  const msrs: MsrAdjustment[] = [];
  const seenMsrs = new Set<number>();
  t.msr_modifiers.forEach((m, i) => {
    const index = Number(m.addr);
    if (seenMsrs.has(index)) throw new InputError(`${where}: $.msr_modifiers[${i}]: duplicate MSR ${hex32(index)}`);
    seenMsrs.add(index);
    msrs.push({ index, replacements: m.bitmap.ones, mask: m.bitmap.keep });
  });

  // What the host knows (or nothing), reconciled with what a guest OS needs for the template's features.
  const candidates = opts.host ? [...opts.host.msrIndexList, ...opts.host.featureMsrs.map((m) => m.index)] : [];
  const permittedMsrs = reconcilePermittedMsrs(policyFor(opts.vendor), { kind: "profile", cpuid }, [
    ...candidates,
    ...msrs.map((m) => m.index),
  ]);
  const profile: Profile = {
    name: opts.name,
    version: 1,
    vendor: opts.vendor,
    kind: "profile",
    description: opts.description ?? `Imported from Firecracker custom CPU template ${where}`,
    sourceHosts: [],
    toolVersion: TOOL_VERSION,
    cpuid,
    msrs,
    permittedMsrs,
  };
  checkProfile(profile, where);
  return normaliseProfile(profile);
}

const isKeepAll = (a: { mask: number; replacements: number }) => a.mask >>> 0 === U32_MAX && a.replacements === 0;

/** The subleaves an adjustment's range stands for in a per-subleaf template. */
function subleavesOf(a: CpuidAdjustment, host: HostCapture | undefined): number[] {
  if (!isIndexedLeaf(a.leaf)) return a.subleaf.start === 0 ? [0] : [];
  if (host)
    return host.cpuid
      .filter((e) => e.function === a.leaf && e.index >= a.subleaf.start && e.index <= a.subleaf.end)
      .map((e) => e.index);
  return range(a.subleaf.start, Math.min(a.subleaf.end, a.subleaf.start + MAX_EXPANDED_SUBLEAVES - 1));
}

/** Bitmap for an adjustment: 'x' where the host's bit survives, else the bit the guest gets. */
function bitsOf(replacements: bigint, mask: bigint): TriBits {
  // a bit set in both mask and replacements is always 1 for the guest, so it is written '1', not 'x'
  return { ones: replacements, keep: mask & ~replacements };
}

/**
 * A Firecracker custom CPU template that sets what the profile sets. Deterministic: modifiers by
 * (leaf, subleaf), registers in eax..edx order, MSRs by index. Without a host, registers the profile
 * does not adjust are not mentioned, so Firecracker leaves them at the host's value.
 */
export function exportFirecrackerTemplate(profile: Profile, host?: HostCapture): string {
  const p = normaliseProfile(profile);
  const entries = new Map<string, { leaf: number; subleaf: number; bitmaps: Map<Register, string> }>();
  const put = (leaf: number, subleaf: number, register: Register, bits: TriBits) => {
    const k = `${leaf}/${subleaf}`;
    const e = entries.get(k) ?? { leaf, subleaf, bitmaps: new Map() };
    e.bitmaps.set(register, formatTriBitmap(bits, CPUID_BITS));
    entries.set(k, e);
  };
  if (p.kind === "profile") {
    for (const a of p.cpuid) {
      if (isKeepAll(a)) continue;
      for (const s of subleavesOf(a, host))
        put(a.leaf, s, a.register, bitsOf(BigInt(a.replacements >>> 0), BigInt(a.mask >>> 0)));
    }
    if (host)
      for (const e of host.cpuid)
        for (const r of REGISTERS)
          if (!findAdjustment(p, e.function, isIndexedLeaf(e.function) ? e.index : 0, r))
            put(e.function, isIndexedLeaf(e.function) ? e.index : 0, r, { ones: 0n, keep: 0n });
  }
  const cpuid_modifiers = [...entries.values()]
    .sort((a, b) => a.leaf - b.leaf || a.subleaf - b.subleaf)
    .map((e) => ({
      leaf: hex32(e.leaf),
      subleaf: hex32(e.subleaf),
      flags: isIndexedLeaf(e.leaf) ? CPUID_FLAG_SIGNIFICANT_INDEX : 0,
      modifiers: REGISTERS.filter((r) => e.bitmaps.has(r)).map((r) => ({ register: r, bitmap: e.bitmaps.get(r)! })),
    }));
  const msr_modifiers = (p.kind === "profile" ? p.msrs : [])
    .filter((m) => (m.mask & MASK64) !== MASK64 || (m.replacements & MASK64) !== 0n)
    .map((m) => ({
      addr: hex32(m.index),
      bitmap: formatTriBitmap(bitsOf(m.replacements & MASK64, m.mask & MASK64), MSR_BITS),
    }));
  const template = { cpuid_modifiers, msr_modifiers };
  // What we write, we read: through the schema importFirecrackerTemplate reads it with.
  parseWith(templateSchema, template, `the Firecracker template to write (${printable(p.name, 64)})`);
  return stableJson(template);
}
