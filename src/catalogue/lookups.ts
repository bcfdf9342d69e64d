// The catalogue's lookups over its tables. index.ts binds them to the tables the bundler built
// (macro.ts); source.ts binds them to the table modules themselves, for code that runs at bundle
// time (the policy rows), where a module with a macro import cannot be loaded.
import type { Register } from "../model/cpuid.ts";
import { hex32 } from "../model/hex.ts";
import { memoByKey } from "../model/memo.ts";
import type { CpuidFeature, CpuidField, MsrBitField } from "./types.ts";

/** The tables, each asked for when a lookup first needs it (index.ts parses them on demand). */
export interface CatalogueTables {
  cpuidFeatures: () => readonly CpuidFeature[];
  /** The feature of one leaf (what cpuidFeatures() has of it) at a cpuidFeatureKey, if there is one. */
  cpuidFeatureByKey: (leaf: number, key: number) => CpuidFeature | undefined;
  cpuidFields: () => readonly CpuidField[];
  /** One MSR's name, if the table has one. */
  msrName: (index: number) => string | undefined;
  msrBitFields: () => readonly MsrBitField[];
}

export interface CpuidFeatureBit {
  leaf: number;
  subleaf: number;
  register: Register;
  bit: number;
}

const REGISTER_NUMBER: Record<Register, number> = { eax: 0, ebx: 1, ecx: 2, edx: 3 };
/** Subleaves a catalogue entry may name (cpuidFeatureKey has room for 0..MAX_SUBLEAF-1); none above has one. */
const MAX_SUBLEAF = 4095;

/** Lookup key of a CPUID bit's location; `subleaf` null for a non-indexed leaf's entry. */
// A number, not a string: building a string key per lookup was most of a cold verify's classify
// (thousands of lookups run once each, in the interpreter). leaf * 2^19 + slot stays below 2^51.
export function cpuidFeatureKey(leaf: number, subleaf: number | null, register: Register, bit: number): number {
  const slot = ((subleaf === null ? 0 : subleaf + 1) * 4 + REGISTER_NUMBER[register]) * 32 + bit;
  return leaf * 0x80000 + slot;
}

/** A feature's own key (the tables are indexed by it); throws for a subleaf the key has no room for. */
export function featureKey(f: CpuidFeature): number {
  if (f.subleaf !== null && f.subleaf >= MAX_SUBLEAF) throw new Error(`catalogue: subleaf ${f.subleaf} too large`);
  return cpuidFeatureKey(f.leaf, f.subleaf, f.register, f.bit);
}

/** cpuidFeatureByKey over the features themselves (source.ts): one map of them all, built when first asked. */
export function featuresByKey(features: readonly CpuidFeature[]): CatalogueTables["cpuidFeatureByKey"] {
  let byKey: ReadonlyMap<number, CpuidFeature> | undefined;
  return (_leaf, key) => (byKey ??= new Map(features.map((f) => [featureKey(f), f]))).get(key);
}

/** Every lookup, over one set of tables. */
export function catalogueOver(tables: CatalogueTables) {
  // The lookup map is built on first use, not at module load: a command that loads the catalogue
  // may ask it nothing (or only by location), and cold start-up pays for every top-level statement.
  let byName: ReadonlyMap<string, CpuidFeature[]> | undefined;
  function byNameMap(): ReadonlyMap<string, CpuidFeature[]> {
    if (byName) return byName;
    const m = new Map<string, CpuidFeature[]>();
    for (const f of tables.cpuidFeatures())
      for (const n of new Set([f.linux, f.qemu].filter((x): x is string => x !== null)))
        m.set(n, [...(m.get(n) ?? []), f]);
    byName = m;
    return m;
  }

  /** The catalogue entry for one CPUID bit: the subleaf-specific one, else the leaf-wide one. */
  function cpuidFeatureAt(leaf: number, subleaf: number, register: Register, bit: number): CpuidFeature | undefined {
    if (!(bit >= 0 && bit < 32)) return undefined; // cpuidFeatureKey packs bits 0-31 only; the catalogue has no other
    const specific =
      subleaf >= 0 && subleaf < MAX_SUBLEAF
        ? tables.cpuidFeatureByKey(leaf, cpuidFeatureKey(leaf, subleaf, register, bit))
        : undefined;
    return specific ?? tables.cpuidFeatureByKey(leaf, cpuidFeatureKey(leaf, null, register, bit));
  }

  /** `0x7.0.ebx[16]`: leaf in hex, subleaf in decimal, register, bit. */
  function cpuidBitLocation(leaf: number, subleaf: number, register: Register, bit: number): string {
    return `${hex32(leaf)}.${subleaf}.${register}[${bit}]`;
  }

  /** Linux spelling of a CPUID bit, or its location when the catalogue has no name for it. */
  function cpuidBitName(leaf: number, subleaf: number, register: Register, bit: number): string {
    return cpuidFeatureAt(leaf, subleaf, register, bit)?.linux ?? cpuidBitLocation(leaf, subleaf, register, bit);
  }

  /** QEMU `-cpu` property for a CPUID bit, when QEMU has one. */
  function cpuidBitQemuName(leaf: number, subleaf: number, register: Register, bit: number): string | undefined {
    return cpuidFeatureAt(leaf, subleaf, register, bit)?.qemu ?? undefined;
  }

  /** Every catalogue entry named `name` in Linux or QEMU spelling (AMD's 0x80000001 EDX aliases share the 1.EDX name; QEMU's `kvmclock` names two bits). */
  function findCpuidFeature(name: string): CpuidFeature[] {
    return [...(byNameMap().get(name.trim().toLowerCase()) ?? [])];
  }

  /** Named single bits of one register, by bit number. */
  function namedCpuidBits(leaf: number, subleaf: number, register: Register): CpuidFeature[] {
    const out: CpuidFeature[] = [];
    for (let bit = 0; bit < 32; bit++) {
      const f = cpuidFeatureAt(leaf, subleaf, register, bit);
      if (f) out.push(f);
    }
    return out;
  }

  /** The multi-bit field (max_basic_leaf, family, phys_addr_bits, ...) holding a bit, if one is catalogued. */
  function cpuidFieldAt(leaf: number, subleaf: number, register: Register, bit: number): CpuidField | undefined {
    return tables
      .cpuidFields()
      .find(
        (f) =>
          f.leaf === leaf &&
          (f.subleaf === null || (subleaf >= f.subleaf && subleaf <= (f.lastSubleaf ?? f.subleaf))) &&
          f.register === register &&
          bit >= f.lsb &&
          bit <= f.msb,
      );
  }

  /** `avx512f`, a field name such as `family`, or the location `0x7.0.ebx[16]` / `0x1.0.eax[5:4]`. */
  function cpuidBitsName(leaf: number, subleaf: number, register: Register, lsb: number, msb: number): string {
    if (lsb === msb) return cpuidBitName(leaf, subleaf, register, lsb);
    const f = cpuidFieldAt(leaf, subleaf, register, lsb);
    if (f && f.lsb === lsb && f.msb === msb) return f.name;
    return `${hex32(leaf)}.${subleaf}.${register}[${msb}:${lsb}]`;
  }

  /**
   * The catalogue's split of one register: its single-bit features, its multi-bit fields, and each run of bits it
   * does not name (named by location), ascending. Tables that rule a whole register take their names from here.
   */
  function cpuidPieces(
    leaf: number,
    subleaf: number,
    register: Register,
  ): { lsb: number; msb: number; name: string }[] {
    const out: { lsb: number; msb: number; name: string }[] = [];
    let run = -1;
    const endRun = (msb: number) => {
      if (run >= 0) out.push({ lsb: run, msb, name: cpuidBitsName(leaf, subleaf, register, run, msb) });
      run = -1;
    };
    for (let bit = 0; bit < 32; bit++) {
      const feature = cpuidFeatureAt(leaf, subleaf, register, bit);
      const field = feature ? undefined : cpuidFieldAt(leaf, subleaf, register, bit);
      if (!feature && !field) {
        if (run < 0) run = bit;
        continue;
      }
      endRun(bit - 1);
      if (feature) out.push({ lsb: bit, msb: bit, name: feature.linux });
      else {
        out.push({ lsb: field!.lsb, msb: field!.msb, name: field!.name });
        bit = field!.msb;
      }
    }
    endRun(31);
    return out;
  }

  /** An MSR's name (`arch_capabilities`), or its index in hex. */
  function msrName(index: number): string {
    return tables.msrName(index >>> 0) ?? hex32(index);
  }

  /** The named bit or field of an MSR holding `bit`, if any. */
  function msrFieldAt(index: number, bit: number): MsrBitField | undefined {
    return tables.msrBitFields().find((f) => f.index === index >>> 0 && bit >= f.lsb && bit <= f.msb);
  }

  /** A single-bit MSR feature's name (`rrsba`), or `0x10a[19]` style when unnamed or part of a wider field. */
  function msrBitName(index: number, bit: number): string {
    const f = msrFieldAt(index, bit);
    return f && f.lsb === f.msb ? f.name : `${hex32(index)}[${bit}]`;
  }

  function msrBitQemuName(index: number, bit: number): string | undefined {
    const f = msrFieldAt(index, bit);
    return f && f.lsb === f.msb ? f.qemu : undefined;
  }

  /** Named bits and fields of one MSR, lowest first. */
  function namedMsrFields(index: number): MsrBitField[] {
    return tables
      .msrBitFields()
      .filter((f) => f.index === index >>> 0)
      .sort((a, b) => a.lsb - b.lsb);
  }

  /**
   * Where the feature of this Linux name lives (subleaf 0 for a non-indexed leaf); a name AMD repeats in
   * 0x80000001 EDX resolves to its leaf-1 bit. Throws for a name the catalogue does not have: tables that
   * refer to features by name are checked by their tests.
   */
  const cpuidFeatureBit = memoByKey((name: string): CpuidFeatureBit => {
    const f = (byNameMap().get(name) ?? []).filter((x) => x.linux === name).sort((a, b) => a.leaf - b.leaf)[0];
    if (!f) throw new Error(`'${name}' is not a CPUID feature in the catalogue`);
    return { leaf: f.leaf, subleaf: f.subleaf ?? 0, register: f.register, bit: f.bit };
  });

  return {
    cpuidFeatureAt,
    cpuidBitLocation,
    cpuidBitName,
    cpuidBitQemuName,
    findCpuidFeature,
    namedCpuidBits,
    cpuidFieldAt,
    cpuidBitsName,
    cpuidPieces,
    msrName,
    msrFieldAt,
    msrBitName,
    msrBitQemuName,
    namedMsrFields,
    cpuidFeatureBit,
  };
}

export type Catalogue = ReturnType<typeof catalogueOver>;
