// libvirt's x86 CPU map (cpu_map/index.xml and the files it includes): feature names with the
// CPUID or MSR bit each stands for, models with vendor and features. Used by the generator and by
// tests that check exported XML against the installed map. Its XML is regular: one element per
// line, single-quoted attributes, so a small scanner reads it.
import type { Register } from "../model/cpuid.ts";

export type LibvirtBit =
  | { kind: "cpuid"; leaf: number; subleaf: number; register: Register; bit: number }
  | { kind: "msr"; index: number; bit: number };

export interface LibvirtFeature {
  name: string;
  bit: LibvirtBit;
}

export interface LibvirtModel {
  name: string;
  /** "Intel", "AMD", or null for generic models. */
  vendor: string | null;
  features: string[];
}

export interface LibvirtCpuMap {
  version: string;
  features: LibvirtFeature[];
  models: LibvirtModel[];
}

function attrs(tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of tag.matchAll(/([a-z_]+)='([^']*)'/g)) out[m[1]!] = m[2]!;
  return out;
}

function singleBit(mask: number): number | null {
  if (mask === 0 || (mask & (mask - 1)) !== 0) return null;
  return 31 - Math.clz32(mask);
}

/** Parse the x86 part of a CPU map; `read` returns a file of the map directory by name. */
export function parseLibvirtCpuMap(read: (file: string) => string): Omit<LibvirtCpuMap, "version"> {
  const index = read("index.xml");
  const arch = /<arch name='x86'>([\s\S]*?)<\/arch>/.exec(index)?.[1] ?? "";
  const files = [...arch.matchAll(/<include filename='([^']+)'\/>/g)].map((m) => m[1]!);
  const features: LibvirtFeature[] = [];
  const raw = new Map<
    string,
    { vendor: string | null; parent: string | null; features: string[]; removed: string[] }
  >();
  const order: string[] = [];
  for (const file of files) {
    const text = read(file);
    for (const fm of text.matchAll(/<feature name='([^']+)'[^>/]*>([\s\S]*?)<\/feature>/g)) {
      const [name, body] = [fm[1]!, fm[2]!];
      const c = /<cpuid ([^>]*)\/>/.exec(body);
      const m = /<msr ([^>]*)\/>/.exec(body);
      if (c) {
        const a = attrs(c[1]!);
        const regs = (["eax", "ebx", "ecx", "edx"] as const).filter((r) => a[r] !== undefined && Number(a[r]) !== 0);
        const bit = regs.length === 1 ? singleBit(Number(a[regs[0]!]) >>> 0) : null;
        if (bit !== null)
          features.push({
            name,
            bit: { kind: "cpuid", leaf: Number(a.eax_in), subleaf: Number(a.ecx_in ?? 0), register: regs[0]!, bit },
          });
      } else if (m) {
        const a = attrs(m[1]!);
        const [lo, hi] = [Number(a.eax) >>> 0, Number(a.edx) >>> 0];
        const bit = hi === 0 ? singleBit(lo) : lo === 0 ? (singleBit(hi) ?? -33) + 32 : null;
        if (bit !== null && bit >= 0) features.push({ name, bit: { kind: "msr", index: Number(a.index), bit } });
      }
    }
    for (const mm of text.matchAll(/<model name='([^']+)'>([\s\S]*?)<\/model>/g)) {
      const [name, body] = [mm[1]!, mm[2]!];
      raw.set(name, {
        vendor: /<vendor name='([^']+)'\/>/.exec(body)?.[1] ?? null,
        parent: /<model name='([^']+)'\/>/.exec(body)?.[1] ?? null,
        features: [...body.matchAll(/<feature name='([^']+)'\/>/g)].map((x) => x[1]!),
        removed: [...body.matchAll(/<feature name='([^']+)' removed='yes'\/>/g)].map((x) => x[1]!),
      });
      order.push(name);
    }
  }
  const resolve = (name: string): { vendor: string | null; features: Set<string> } => {
    const r = raw.get(name)!;
    const base = r.parent ? resolve(r.parent) : { vendor: null, features: new Set<string>() };
    const fs = new Set([...base.features, ...r.features]);
    for (const x of r.removed) fs.delete(x);
    return { vendor: r.vendor ?? base.vendor, features: fs };
  };
  const models = order.map((name) => {
    const r = resolve(name);
    return { name, vendor: r.vendor, features: [...r.features].sort() };
  });
  return { features, models };
}
