// Per-vCPU CPUID fields, filled the way a VMM fills them: identity (APIC ids) from the vCPU id and
// counts for a simple topology of one socket, one thread per core, `vcpuCount` cores.
// These fields are never part of a profile (policy: passthrough, compare none); they are set after
// the profile's adjustments, only in entries the table already has.
import { InputError } from "../errors.ts";
import type { CpuidEntry, Register } from "../model/cpuid.ts";
import { bitMask32, placeValue } from "../fields/bits.ts";
import { memoByKey } from "../model/memo.ts";
import type { Vendor } from "../model/vendor.ts";

export interface VcpuTopology {
  vcpuId: number;
  vcpuCount: number;
}

/** KVM_MAX_VCPUS on x86_64 (4096 since Linux 6.x): more vCPUs than this cannot exist. */
export const MAX_VCPUS = 4096;

export interface TopologyField {
  leaf: number;
  /** Inclusive subleaf range. */
  subleaves: { start: number; end: number };
  register: Register;
  lsb: number;
  msb: number;
  /** Vendors whose VMMs fill the field; all when absent. */
  vendors?: readonly Vendor[];
  name: string;
  value: (t: VcpuTopology, subleaf: number) => number;
}

const ALL_SUBLEAVES = { start: 0, end: 0xffffffff } as const;
const SUBLEAF_0 = { start: 0, end: 0 } as const;

/** x2APIC id bits that select the core within the package (ceil(log2(count))). */
export function coreIdBits(vcpuCount: number): number {
  return vcpuCount <= 1 ? 0 : 32 - Math.clz32(vcpuCount - 1);
}

/** Extended topology levels (0xB and 0x1F): 0 = SMT (1 thread), 1 = core (all vCPUs), higher subleaves invalid. */
const SMT_LEVEL = 1;
const CORE_LEVEL = 2;
const levelShift = (t: VcpuTopology, sub: number) => (sub === 0 ? 0 : sub === 1 ? coreIdBits(t.vcpuCount) : 0);
const levelCount = (t: VcpuTopology, sub: number) => (sub === 0 ? 1 : sub === 1 ? t.vcpuCount : 0);
const levelType = (sub: number) => (sub === 0 ? SMT_LEVEL : sub === 1 ? CORE_LEVEL : 0);

function extendedTopology(leaf: number, tag: string): TopologyField[] {
  return [
    { leaf, subleaves: ALL_SUBLEAVES, register: "eax", lsb: 0, msb: 31, name: `${tag}_level_shift`, value: levelShift },
    {
      leaf,
      subleaves: ALL_SUBLEAVES,
      register: "ebx",
      lsb: 0,
      msb: 31,
      name: `${tag}_level_processors`,
      value: levelCount,
    },
    // ECX[7:0] echoes the subleaf (also for invalid levels), ECX[15:8] is the level type
    {
      leaf,
      subleaves: ALL_SUBLEAVES,
      register: "ecx",
      lsb: 0,
      msb: 31,
      name: `${tag}_level`,
      value: (_t, sub) => ((levelType(sub) << 8) | (sub & 0xff)) >>> 0,
    },
    {
      leaf,
      subleaves: ALL_SUBLEAVES,
      register: "edx",
      lsb: 0,
      msb: 31,
      name: `${tag}_x2apic_id`,
      value: (t) => t.vcpuId,
    },
  ];
}

const cap = (n: number, max: number) => Math.min(n, max);

export const TOPOLOGY_FIELDS: readonly TopologyField[] = [
  {
    leaf: 0x1,
    subleaves: SUBLEAF_0,
    register: "ebx",
    lsb: 24,
    msb: 31,
    name: "initial_apic_id",
    value: (t) => t.vcpuId & 0xff,
  },
  {
    leaf: 0x1,
    subleaves: SUBLEAF_0,
    register: "ebx",
    lsb: 16,
    msb: 23,
    name: "logical_processor_count",
    value: (t) => cap(t.vcpuCount, 0xff),
  },
  {
    leaf: 0x1,
    subleaves: SUBLEAF_0,
    register: "edx",
    lsb: 28,
    msb: 28,
    name: "ht",
    value: (t) => (t.vcpuCount > 1 ? 1 : 0),
  },
  {
    leaf: 0x4,
    subleaves: ALL_SUBLEAVES,
    register: "eax",
    lsb: 26,
    msb: 31,
    vendors: ["intel"],
    name: "cores_per_package",
    value: (t) => cap(t.vcpuCount - 1, 63),
  },
  ...extendedTopology(0xb, "x2apic"),
  ...extendedTopology(0x1f, "v2_x2apic"),
  {
    leaf: 0x80000008,
    subleaves: SUBLEAF_0,
    register: "ecx",
    lsb: 0,
    msb: 7,
    vendors: ["amd"],
    name: "nc",
    value: (t) => cap(t.vcpuCount - 1, 0xff),
  },
  {
    leaf: 0x8000001e,
    subleaves: SUBLEAF_0,
    register: "eax",
    lsb: 0,
    msb: 31,
    vendors: ["amd"],
    name: "extended_apic_id",
    value: (t) => t.vcpuId,
  },
  {
    leaf: 0x8000001e,
    subleaves: SUBLEAF_0,
    register: "ebx",
    lsb: 0,
    msb: 7,
    vendors: ["amd"],
    name: "core_id",
    value: (t) => t.vcpuId & 0xff,
  },
  {
    leaf: 0x8000001e,
    subleaves: SUBLEAF_0,
    register: "ebx",
    lsb: 8,
    msb: 15,
    vendors: ["amd"],
    name: "threads_per_core_minus_1",
    value: () => 0,
  },
];

/** Refuses ids and counts no VMM could create: 1 <= vcpuCount <= 4096, 0 <= vcpuId < vcpuCount. */
export function checkTopology(t: VcpuTopology): void {
  if (!Number.isInteger(t.vcpuCount) || t.vcpuCount < 1 || t.vcpuCount > MAX_VCPUS)
    throw new InputError(`vCPU count ${t.vcpuCount}: expected an integer from 1 to ${MAX_VCPUS}`);
  if (!Number.isInteger(t.vcpuId) || t.vcpuId < 0 || t.vcpuId >= t.vcpuCount)
    throw new InputError(
      `vCPU id ${t.vcpuId}: expected an integer from 0 to ${t.vcpuCount - 1} (vCPU count ${t.vcpuCount})`,
    );
}

// One pass over the table per vendor, indexed by leaf: apply asks for every leaf of a table, and a filter
// and a string key per leaf were ~0.3 ms of a cold verify host.
const topologyFieldsByLeaf = memoByKey((vendor: string): ReadonlyMap<number, readonly TopologyField[]> => {
  const byLeaf = new Map<number, TopologyField[]>();
  for (const f of TOPOLOGY_FIELDS) {
    if (f.vendors && !f.vendors.includes(vendor as Vendor)) continue;
    const list = byLeaf.get(f.leaf);
    if (list) list.push(f);
    else byLeaf.set(f.leaf, [f]);
  }
  return byLeaf;
});
const NO_FIELDS: readonly TopologyField[] = [];
const fieldsFor = (vendor: Vendor, leaf: number) => topologyFieldsByLeaf(vendor).get(leaf) ?? NO_FIELDS;

/** Sets the per-vCPU fields of `entry` in place (the caller owns the entry). */
export function setTopologyFields(entry: CpuidEntry, vendor: Vendor, t: VcpuTopology): void {
  for (const f of fieldsFor(vendor, entry.function)) {
    if (entry.index < f.subleaves.start || entry.index > f.subleaves.end) continue;
    const mask = bitMask32(f.lsb, f.msb);
    const value = placeValue(f, f.value(t, entry.index));
    entry[f.register] = ((entry[f.register] & ~mask) | value) >>> 0;
  }
}

/** Bits of one register that setTopologyFields owns for `vendor` (what a per-vCPU comparison must ignore). */
export function topologyMask(vendor: Vendor, leaf: number, subleaf: number, register: Register): number {
  let mask = 0;
  for (const f of fieldsFor(vendor, leaf))
    if (f.register === register && subleaf >= f.subleaves.start && subleaf <= f.subleaves.end)
      mask |= bitMask32(f.lsb, f.msb);
  return mask >>> 0;
}
