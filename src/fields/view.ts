// Views: a host capture, a profile or an applied vCPU configuration seen the same way, so that any can be
// compared with any: at each CPUID register and feature MSR, the bits fixed to a value and the bits left to the host.
import { CPUID_FLAG_SIGNIFICANT_INDEX, compareCpuidKey, type CpuidEntry, type Register } from "../model/cpuid.ts";
import type { HostCapture } from "../model/host.ts";
import { memoByObject } from "../model/memo.ts";
import type { CpuidAdjustment, Profile } from "../model/profile.ts";
import type { Vendor } from "../model/vendor.ts";

export type Config = Profile | HostCapture;

export function isProfile(c: Config): c is Profile {
  return "permittedMsrs" in c;
}

/** One register or MSR: `fixed` holds the fixed bits' values, `hostBits` the bits the host decides at apply time. */
export interface Slot<T> {
  fixed: T;
  hostBits: T;
}

/** A CPUID register: its slot, and whether this side says anything there (a host's entry, a profile's adjustment). */
export interface RegisterSlot extends Slot<number> {
  present: boolean;
}

export interface FeatureView {
  vendor: Vendor;
  /** (function, index) pairs this side names: a host's entries, a profile's adjustments (a range by its first subleaf). */
  leaves: { function: number; index: number }[];
  register(leaf: number, subleaf: number, register: Register): RegisterSlot;
  /** The fixed value of one register (what `register` gives as `fixed`), without making a slot: for hot loops. */
  fixedAt(leaf: number, subleaf: number, register: Register): number;
  /**
   * The subleaves of (leaf, register) in start..end this side says something about: a host's entries of the leaf,
   * a profile's adjustments of the register (a range by its first subleaf in start..end). Ascending.
   */
  subleavesIn(leaf: number, register: Register, start: number, end: number): number[];
  /** Feature MSR slots by index; a missing MSR is one this side does not set. */
  msrs: ReadonlyMap<number, Slot<bigint>>;
  /** MSRs a guest may access (a host: every MSR its KVM saves); null when unrestricted (a "host" kind profile). */
  permitted: ReadonlySet<number> | null;
}

const NOTHING: RegisterSlot = { fixed: 0, hostBits: 0, present: false };
const ALL_TO_HOST: RegisterSlot = { fixed: 0, hostBits: 0xffffffff, present: true };

/** What a profile's adjustment (or its absence: the register is 0 in the guest) fixes and leaves to the host. */
export function adjustmentSlot(a: CpuidAdjustment | undefined): RegisterSlot {
  return a ? { fixed: (a.replacements & ~a.mask) >>> 0, hostBits: a.mask >>> 0, present: true } : NOTHING;
}

function uniqueLeaves(keys: { function: number; index: number }[]): { function: number; index: number }[] {
  const seen = new Set<string>();
  return keys
    .filter((k) => {
      const id = `${k.function}/${k.index}`;
      return seen.has(id) ? false : (seen.add(id), true);
    })
    .sort(compareCpuidKey);
}

function groupBy<T>(items: readonly T[], key: (t: T) => number): Map<number, T[]> {
  const out = new Map<number, T[]>();
  for (const t of items) {
    const k = key(t);
    const list = out.get(k);
    if (list) list.push(t);
    else out.set(k, [t]);
  }
  return out;
}

/** A CPUID table with MSR values (a host's, or an applied configuration's): every bit fixed. */
class TableView implements FeatureView {
  private readonly _byLeaf: Map<number, CpuidEntry[]>;
  // leaves, subleaf lists, MSR slots and the permitted set are made on first use: a fleet check reads only registers
  private readonly _subleaves = new Map<number, number[]>();
  private _leaves: FeatureView["leaves"] | undefined;
  private _msrSlots: FeatureView["msrs"] | undefined;
  private _permitted: ReadonlySet<number> | null | undefined;

  constructor(
    readonly vendor: Vendor,
    private readonly cpuid: readonly CpuidEntry[],
    private readonly msrValues: readonly { index: number; value: bigint }[],
    private readonly permittedList: readonly number[] | null,
  ) {
    this._byLeaf = groupBy(cpuid, (e) => e.function);
  }

  /** findCpuid's semantics: the first entry of the function whose subleaf matches or does not matter. */
  private _entryAt(leaf: number, subleaf: number): CpuidEntry | undefined {
    const list = this._byLeaf.get(leaf);
    if (list) for (const e of list) if ((e.flags & CPUID_FLAG_SIGNIFICANT_INDEX) === 0 || e.index === subleaf) return e;
    return undefined;
  }

  get leaves(): FeatureView["leaves"] {
    return (this._leaves ??= uniqueLeaves(this.cpuid.map((e) => ({ function: e.function, index: e.index }))));
  }

  register(leaf: number, subleaf: number, register: Register): RegisterSlot {
    const e = this._entryAt(leaf, subleaf);
    return e ? { fixed: e[register], hostBits: 0, present: true } : NOTHING;
  }

  fixedAt(leaf: number, subleaf: number, register: Register): number {
    const e = this._entryAt(leaf, subleaf);
    return e ? e[register] : 0;
  }

  subleavesIn(leaf: number, _register: Register, start: number, end: number): number[] {
    let all = this._subleaves.get(leaf);
    if (!all)
      this._subleaves.set(
        leaf,
        (all = [...new Set((this._byLeaf.get(leaf) ?? []).map((e) => e.index))].sort((a, b) => a - b)),
      );
    return start === 0 && end >= 0xffffffff ? all : all.filter((i) => i >= start && i <= end);
  }

  get msrs(): FeatureView["msrs"] {
    return (this._msrSlots ??= new Map(this.msrValues.map((m) => [m.index, { fixed: m.value, hostBits: 0n }])));
  }

  get permitted(): ReadonlySet<number> | null {
    if (this._permitted === undefined) this._permitted = this.permittedList && new Set(this.permittedList);
    return this._permitted;
  }
}

/** A CPUID table with MSR values (a host's, or an applied configuration's): every bit fixed. */
export function tableView(
  vendor: Vendor,
  cpuid: readonly CpuidEntry[],
  msrs: readonly { index: number; value: bigint }[],
  permitted: readonly number[] | null = null,
): FeatureView {
  return new TableView(vendor, cpuid, msrs, permitted);
}

function hostView(h: HostCapture): FeatureView {
  return new TableView(h.vendor, h.cpuid, h.featureMsrs, h.msrIndexList);
}

/** Nothing of a "host" kind profile is fixed: every register is the host's. */
const HOST_PROFILE_VIEW = (vendor: Vendor): FeatureView => ({
  vendor,
  leaves: [],
  register: () => ALL_TO_HOST,
  fixedAt: () => 0,
  subleavesIn: () => [],
  msrs: new Map(),
  permitted: null,
});

/** A profile: its adjustments' fixed bits and the bits they leave to the host; unmatched registers are 0 in the guest. */
class ProfileView implements FeatureView {
  readonly vendor: Vendor;
  /** Each adjustment with its slot, by leaf * 4 + register number, made once: lookups allocate nothing. */
  private readonly _byRegister: Map<number, { a: CpuidAdjustment; slot: RegisterSlot }[]>;
  private _leaves: FeatureView["leaves"] | undefined;
  private _msrSlots: FeatureView["msrs"] | undefined;
  private _permitted: ReadonlySet<number> | undefined;

  constructor(private readonly profile: Profile) {
    this.vendor = profile.vendor;
    this._byRegister = groupBy(
      profile.cpuid.map((a) => ({ a, slot: adjustmentSlot(a) })),
      ({ a }) => a.leaf * 4 + REGISTER_NUMBER[a.register],
    );
  }

  get leaves(): FeatureView["leaves"] {
    return (this._leaves ??= uniqueLeaves(
      this.profile.cpuid.map((a) => ({ function: a.leaf, index: a.subleaf.start })),
    ));
  }

  /** findAdjustment's semantics: the first adjustment of the register whose subleaf range holds the subleaf. */
  register(leaf: number, subleaf: number, register: Register): RegisterSlot {
    const list = this._byRegister.get(leaf * 4 + REGISTER_NUMBER[register]);
    if (list) for (const { a, slot } of list) if (subleaf >= a.subleaf.start && subleaf <= a.subleaf.end) return slot;
    return NOTHING;
  }

  fixedAt(leaf: number, subleaf: number, register: Register): number {
    return this.register(leaf, subleaf, register).fixed;
  }

  subleavesIn(leaf: number, register: Register, start: number, end: number): number[] {
    const out: number[] = [];
    for (const { a } of this._byRegister.get(leaf * 4 + REGISTER_NUMBER[register]) ?? [])
      if (a.subleaf.end >= start && a.subleaf.start <= end) {
        const first = Math.max(a.subleaf.start, start);
        if (!out.includes(first)) out.push(first);
      }
    return out.length > 1 ? out.sort((x, y) => x - y) : out;
  }

  get msrs(): FeatureView["msrs"] {
    return (this._msrSlots ??= new Map(
      this.profile.msrs.map((m) => [m.index, { fixed: m.replacements & ~m.mask, hostBits: m.mask }]),
    ));
  }

  get permitted(): ReadonlySet<number> {
    return (this._permitted ??= new Set(this.profile.permittedMsrs));
  }
}

function profileView(p: Profile): FeatureView {
  return p.kind === "host" ? HOST_PROFILE_VIEW(p.vendor) : new ProfileView(p);
}

/** Register number for per-register keys (leaf * 4 + number is exact in a double: leaves are 32-bit). */
const REGISTER_NUMBER: Record<Register, number> = { eax: 0, ebx: 1, ecx: 2, edx: 3 };

/** The view of a profile, built once per object; its registers need only the profile's kind and CPUID adjustments. */
export const viewOfProfile = memoByObject(
  (p: Pick<Profile, "kind" | "cpuid"> & Partial<Profile>): FeatureView => profileView(p as Profile),
);

/** The view of a profile or a host capture, built once per object (captures and profiles are not changed in place). */
export function featureView(c: Config): FeatureView {
  return isProfile(c) ? viewOfProfile(c) : viewOfHost(c);
}
const viewOfHost = memoByObject(hostView);

/** The (function, index) pairs either view names, once each, in canonical order. */
export function mergedLeaves(a: FeatureView, b: FeatureView): { function: number; index: number }[] {
  return uniqueLeaves([...a.leaves, ...b.leaves]);
}
