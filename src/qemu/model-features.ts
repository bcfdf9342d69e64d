// A QEMU named CPU model and a cpuprof profile in the same vocabulary: the catalogue's
// features, spelled the Linux way, so the two can be compared bit by bit. Pure: the
// QEMU side comes in as the `props` of a `query-cpu-model-expansion` (type full) reply.
import { allCpuidFeatures, allMsrBitFields, findCpuidFeature } from "../catalogue/index.ts";
import type { Register } from "../model/cpuid.ts";
import type { Profile } from "../model/profile.ts";
import { describeProfile } from "../profile/describe.ts";
import { profileBitState } from "./feature-state.ts";

/** Policy field names that name a single CPUID bit QEMU has a property for, but the catalogue lacks. */
const EXTRA_QEMU_NAMES: Readonly<Record<string, string>> = {
  arat: "arat", // CPUID 6.EAX[2]: the catalogue has no leaf 6 entries
};
const EXTRA_QEMU_BITS: Readonly<Record<string, FeatureBit>> = {
  arat: { kind: "cpuid", leaf: 6, subleaf: 0, register: "eax", bit: 2 },
};

/** Where a named feature lives: a CPUID bit (subleaf 0 for leaves without subleaves) or a feature-MSR bit. */
export type FeatureBit =
  | { kind: "cpuid"; leaf: number; subleaf: number; register: Register; bit: number }
  | { kind: "msr"; index: number; bit: number };

/** QEMU accepts a property under its canonical name and with `_`/`.` spelled `-`. */
function spellings(name: string): string[] {
  return [name, name.replaceAll("_", "-"), name.replaceAll(".", "-"), name.replaceAll("-", "_")];
}

function propValue(props: Readonly<Record<string, unknown>>, name: string): unknown {
  for (const n of spellings(name)) if (n in props) return props[n];
  return undefined;
}

/** Does a QEMU expansion have this property (in any of its spellings)? */
export function qemuPropertyKnown(props: Readonly<Record<string, unknown>>, name: string): boolean {
  return spellings(name).some((n) => n in props);
}

export interface FeatureName {
  /** Linux spelling (the catalogue's `linux`, or the MSR bit's name). */
  linux: string;
  /** QEMU property, when QEMU has one. */
  qemu: string | null;
  bit: FeatureBit;
}

/** Every feature (CPUID bit or feature-MSR bit) QEMU names, with its Linux spelling. */
export function qemuNamedFeatures(): FeatureName[] {
  const out = new Map<string, FeatureName>();
  for (const f of allCpuidFeatures())
    if (f.qemu && !f.aliasOfLeaf1Edx && !out.has(f.linux))
      out.set(f.linux, {
        linux: f.linux,
        qemu: f.qemu,
        bit: { kind: "cpuid", leaf: f.leaf, subleaf: f.subleaf ?? 0, register: f.register, bit: f.bit },
      });
  for (const [linux, qemu] of Object.entries(EXTRA_QEMU_NAMES))
    if (!out.has(linux)) out.set(linux, { linux, qemu, bit: EXTRA_QEMU_BITS[linux]! });
  for (const m of allMsrBitFields())
    if (m.qemu && m.lsb === m.msb && !out.has(m.name))
      out.set(m.name, { linux: m.name, qemu: m.qemu, bit: { kind: "msr", index: m.index, bit: m.lsb } });
  return [...out.values()];
}

/** The QEMU property of a Linux feature name, or null when QEMU has none. */
export function qemuNameOf(linux: string): string | null {
  const hit = findCpuidFeature(linux).find((f) => f.linux === linux && !f.aliasOfLeaf1Edx && f.qemu);
  if (hit) return hit.qemu;
  if (linux in EXTRA_QEMU_NAMES) return EXTRA_QEMU_NAMES[linux]!;
  return allMsrBitFields().find((m) => m.name === linux && m.lsb === m.msb)?.qemu ?? null;
}

/** Linux names of the features a QEMU model enables (its boolean properties that are true). */
export function qemuModelFeatures(props: Readonly<Record<string, unknown>>): Set<string> {
  const out = new Set<string>();
  for (const f of qemuNamedFeatures()) if (f.qemu && propValue(props, f.qemu) === true) out.add(f.linux);
  return out;
}

/** Linux names of the features a profile fixes to 1: CPUID (describeProfile) and feature-MSR bits. */
export function profileFeatures(profile: Profile): Set<string> {
  const out = new Set(describeProfile(profile).features);
  for (const m of profile.msrs)
    for (const f of allMsrBitFields())
      if (
        f.index === m.index >>> 0 &&
        f.lsb === f.msb &&
        profileBitState(profile, { kind: "msr", index: f.index, bit: f.lsb }) === 1
      )
        out.add(f.name);
  return out;
}

export interface ModelDifference {
  onlyInProfile: string[];
  onlyInQemu: string[];
}

export function compareWithQemuModel(profile: Profile, props: Readonly<Record<string, unknown>>): ModelDifference {
  const p = profileFeatures(profile);
  const q = qemuModelFeatures(props);
  return {
    onlyInProfile: [...p].filter((f) => !q.has(f)).sort(),
    onlyInQemu: [...q].filter((f) => !p.has(f)).sort(),
  };
}
