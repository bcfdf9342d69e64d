// Synthetic fleets for benchmarks and property tests: copies of real captures with random features
// taken away (feature bits cleared, bad-news bits set), chosen by the policy table, from a seed.
import { REGISTERS, type Register } from "../model/cpuid.ts";
import type { HostCapture } from "../model/host.ts";
import { splitMsr, splitRegister } from "../fields/split.ts";
import { bitSet } from "../fields/bits.ts";
import { weakeningBit } from "../fields/rules.ts";

export interface LabelledHost {
  label: string;
  host: HostCapture;
}

export interface SyntheticOptions {
  count: number;
  seed: number;
  /** Chance that each removable feature of a copy is removed; default 0.05. */
  removeRate?: number;
}

/** One way to make a host less capable: clear a feature bit or set a bad-news bit. */
type Removal =
  | { where: "cpuid"; entry: number; register: Register; bit: number; set: boolean }
  | { where: "msr"; msr: number; bit: bigint; set: boolean };

/** mulberry32: a small seeded PRNG, so a seed names a fleet on every machine. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Every removal that applies to `h`: inherited feature fields only, so the policy decides what a feature is. */
export function removalsOf(h: HostCapture): Removal[] {
  const out: Removal[] = [];
  h.cpuid.forEach((e, entry) => {
    for (const register of REGISTERS)
      for (const f of splitRegister(h.vendor, e.function, e.index, register)) {
        if (f.action?.kind !== "inherit") continue;
        for (let bit = f.lsb; bit <= f.msb; bit++) {
          const r = weakeningBit(f.compare, bitSet(e[register], bit));
          if (r) out.push({ where: "cpuid", entry, register, bit, ...r });
        }
      }
  });
  for (const m of h.featureMsrs)
    for (const f of splitMsr(h.vendor, m.index)) {
      if (f.action?.kind !== "inherit") continue;
      for (let b = f.lsb; b <= f.msb; b++) {
        const bit = 1n << BigInt(b);
        const r = weakeningBit(f.compare, (m.value & bit) !== 0n);
        if (r) out.push({ where: "msr", msr: m.index, bit, ...r });
      }
    }
  return out;
}

function applyRemovals(h: HostCapture, removals: readonly Removal[]): HostCapture {
  const cpuid = h.cpuid.map((e) => ({ ...e }));
  const featureMsrs = h.featureMsrs.map((m) => ({ ...m }));
  for (const r of removals) {
    if (r.where === "cpuid") {
      const e = cpuid[r.entry]!;
      e[r.register] = (r.set ? e[r.register] | (1 << r.bit) : e[r.register] & ~(1 << r.bit)) >>> 0;
    } else {
      const m = featureMsrs.find((x) => x.index === r.msr)!;
      m.value = r.set ? m.value | r.bit : m.value & ~r.bit;
    }
  }
  return { ...h, cpuid, featureMsrs };
}

/**
 * `count` hosts, each a copy of a base (chosen at random) with features removed at `removeRate`.
 * Labelled `<base label>#<n>`. Pure: the same bases, count and seed give the same fleet.
 */
export function syntheticFleet(bases: readonly LabelledHost[], options: SyntheticOptions): LabelledHost[] {
  if (bases.length === 0) return [];
  const rate = options.removeRate ?? 0.05;
  const random = seededRandom(options.seed);
  const candidates = bases.map((b) => removalsOf(b.host));
  const out: LabelledHost[] = [];
  for (let n = 0; n < options.count; n++) {
    const k = Math.floor(random() * bases.length);
    const chosen = candidates[k]!.filter(() => random() < rate);
    out.push({ label: `${bases[k]!.label}#${n}`, host: applyRemovals(bases[k]!.host, chosen) });
  }
  return out;
}
