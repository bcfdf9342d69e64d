// CPUID entries as KVM's struct kvm_cpuid_entry2 carries them, registers as u32 numbers.

export const REGISTERS = ["eax", "ebx", "ecx", "edx"] as const;
export type Register = (typeof REGISTERS)[number];

/** KVM_CPUID_FLAG_SIGNIFCANT_INDEX (the uapi spelling): the entry matches only its own subleaf. */
export const CPUID_FLAG_SIGNIFICANT_INDEX = 1;

export interface CpuidEntry {
  function: number;
  index: number;
  flags: number;
  eax: number;
  ebx: number;
  ecx: number;
  edx: number;
}

/** Total order on (function, index): the canonical order of every CPUID table we write. */
export function compareCpuidKey(
  a: { function: number; index: number },
  b: { function: number; index: number },
): number {
  return a.function - b.function || a.index - b.index;
}

export function sortCpuid<T extends { function: number; index: number }>(entries: readonly T[]): T[] {
  return [...entries].sort(compareCpuidKey);
}

/** The entry a guest CPUID(function, index) would hit, honouring the significant-index flag. */
export function findCpuid(entries: readonly CpuidEntry[], fn: number, index = 0): CpuidEntry | undefined {
  return entries.find(
    (e) => e.function === fn && ((e.flags & CPUID_FLAG_SIGNIFICANT_INDEX) === 0 || e.index === index),
  );
}

export interface CpuidIndex {
  /** findCpuid: the first entry of the function whose index matches or is not significant. */
  find(fn: number, index: number): CpuidEntry | undefined;
  /** The first entry of the function, whatever its index. */
  first(fn: number): CpuidEntry | undefined;
}

const cpuidIndexes = new WeakMap<readonly CpuidEntry[], CpuidIndex>();

/**
 * findCpuid through positions indexed once per table object, for a table read many times and never changed
 * after the first lookup (verify resolves every probe against the applied and the observed table).
 */
export function cpuidIndexOf(table: readonly CpuidEntry[]): CpuidIndex {
  let ix = cpuidIndexes.get(table);
  if (!ix) {
    // Number keys only (this runs cold, once per table, and then once per probe): fn -> position of its first
    // entry whose index is not significant; fn -> index -> position of its first entry with that significant index;
    // fn -> its first entry.
    const anyIndex = new Map<number, number>();
    const byIndex = new Map<number, Map<number, number>>();
    const byFunction = new Map<number, number>();
    for (let i = 0; i < table.length; i++) {
      const e = table[i]!,
        fn = e.function >>> 0;
      if ((e.flags & CPUID_FLAG_SIGNIFICANT_INDEX) === 0) {
        if (!anyIndex.has(fn)) anyIndex.set(fn, i);
      } else {
        let m = byIndex.get(fn);
        if (!m) byIndex.set(fn, (m = new Map()));
        if (!m.has(e.index >>> 0)) m.set(e.index >>> 0, i);
      }
      if (!byFunction.has(fn)) byFunction.set(fn, i);
    }
    ix = {
      find(fn, index) {
        const a = anyIndex.get(fn >>> 0),
          b = byIndex.get(fn >>> 0)?.get(index >>> 0);
        const at = a === undefined ? b : b === undefined ? a : Math.min(a, b);
        return at === undefined ? undefined : table[at];
      },
      first(fn) {
        const at = byFunction.get(fn >>> 0);
        return at === undefined ? undefined : table[at];
      },
    };
    cpuidIndexes.set(table, ix);
  }
  return ix;
}

/** Where one CPUID bit is. */
export interface CpuidBitLocation {
  leaf: number;
  subleaf: number;
  register: Register;
  bit: number;
}

/** Whether `table` has bit `b` set, in the entry a guest CPUID would hit (findCpuid). */
export function cpuidBitIn(table: readonly CpuidEntry[], b: CpuidBitLocation): boolean {
  const e = findCpuid(table, b.leaf, b.subleaf);
  return e !== undefined && ((e[b.register] >>> b.bit) & 1) === 1;
}

/** Leaves whose subleaf matters (KVM's list plus the architecturally indexed ones KVM omits). */
export const INDEXED_LEAVES: ReadonlySet<number> = new Set([
  0x4, 0x7, 0xb, 0xd, 0xf, 0x10, 0x12, 0x14, 0x17, 0x18, 0x1b, 0x1d, 0x1e, 0x1f, 0x20, 0x23, 0x24, 0x8000001d,
  0x80000020, 0x80000026,
]);

export function isIndexedLeaf(fn: number): boolean {
  return INDEXED_LEAVES.has(fn);
}
