// The vocabulary of the policy tables (Cloud Hypervisor's generation tool, plus comparison rules).
import type { Register } from "../model/cpuid.ts";
import type { Vendor } from "../model/vendor.ts";

/**
 * What `generate` does with a field:
 * - inherit: fix the source host's value in the profile (features);
 * - passthrough: leave it to the host the VM runs on at apply time (topology, caches, sizes, brand);
 * - static: always `value` (hidden features are static 0; forced ones such as x2APIC are static 1).
 */
export type Action = { kind: "inherit" } | { kind: "passthrough" } | { kind: "static"; value: number };

/**
 * How two values of a field compare for compatibility and baselines (profile vs host, or A vs B):
 * - subset: every bit set in the profile must be set on the host (features); baseline = AND;
 * - superset: the profile must have every bit the host has (bad-news bits, inverted PMU EBX); baseline = OR;
 * - le: profile value <= host value (max leaves, address sizes, counts); baseline = min;
 * - eq: must be equal (vendor, XSAVE layout); baseline: all hosts equal or an error;
 * - none: not compared (identity, topology, cosmetics).
 */
export type Compare = "subset" | "superset" | "le" | "eq" | "none";

export interface SubleafRange {
  start: number;
  end: number;
}

/** The rule for one bit field, wherever it is. */
export interface FieldRule {
  /** Inclusive bit range. A single-bit feature has lsb === msb. */
  lsb: number;
  msb: number;
  /** The catalogue's name for these bits (Linux spelling), e.g. "avx512f", "max_basic_leaf"; test/policy/names.test.ts. */
  name: string;
  action: Action;
  compare: Compare;
  /** VMX/SVM and nested-only bits: inherited into the profile, dropped at apply time unless nested is requested. */
  nested?: boolean;
  /** Why this rule, where it is not obvious (forward compatibility, KVM behaviour). */
  why?: string;
}

/** One bit field of one CPUID register, over a range of subleaves. */
export interface CpuidField extends FieldRule {
  leaf: number;
  subleaves: SubleafRange;
  register: Register;
  /** 0 means "the value of these bits of the same register" (AMD's guest_phys_addr_bits); rules compare the effective value. */
  zeroMeans?: { lsb: number; msb: number };
}

/** One bit field of one feature MSR. */
export interface MsrField extends FieldRule {
  index: number;
}

/** What a guest may do with one MSR. */
export interface MsrRule {
  index: number;
  /** Inclusive upper end for a block of MSRs (e.g. MTRR variable ranges); defaults to index. */
  last?: number;
  name: string;
  /** permitted: the guest may access it; denied: the filter denies it where the host knows it. */
  access: "permitted" | "denied";
  /** A feature MSR (its value is adjusted by the profile). */
  feature?: boolean;
  /** Hyper-V synthetic MSR: denied unless `hyperv: true` at apply time. */
  hyperv?: boolean;
  /** VMX capability MSR: denied unless `nested: true` at apply time. */
  nested?: boolean;
  /**
   * KVM emulates it for every guest without listing it in KVM_GET_MSR_INDEX_LIST (MTRRs, APIC base, EFER...):
   * permitted even when the host capture does not name it.
   */
  implicit?: boolean;
  why?: string;
}

export interface Policy {
  vendor: Vendor;
  cpuid: readonly CpuidField[];
  msrFields: readonly MsrField[];
  msrs: readonly MsrRule[];
}
