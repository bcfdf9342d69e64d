// The vocabulary of verify's findings: every way a guest's view can differ from the promise.
import type { Register } from "../model/cpuid.ts";

export const DIFFERENCE_CLASSES = [
  "kvm-runtime", // KVM rewrites the field from vCPU state; expected, never a failure
  "hypervisor-rewrite", // KVM_GET_CPUID2 after the run shows the same change: the kernel rewrote the table we set
  "feature-exposed", // a feature the profile hides is visible
  "feature-missing", // a feature the profile promises is absent
  "field-mismatch", // a multi-bit or unnamed field differs
  "msr-readable", // an MSR that should fault was readable
  "msr-fault", // an MSR that should be readable faulted
  "msr-value", // an MSR read back a value other than the one set
  "os-msr-fault", // the guest sees a feature, so a guest OS uses this MSR, but the guest cannot reach it
  "hidden-leaf", // a leaf describing what the guest lacks (XSAVE component outside XCR0/XSS, AMX, AVX10) is not zero
  "out-of-range", // CPUID beyond the table did not follow the vendor's documented fallback
] as const;
export type DifferenceClass = (typeof DIFFERENCE_CLASSES)[number];

export function isDifferenceClass(s: string): s is DifferenceClass {
  return (DIFFERENCE_CLASSES as readonly string[]).includes(s);
}

export interface Difference {
  class: DifferenceClass;
  /** Feature or field name (`avx512f`, `0x7.0.ebx[16]`), or the MSR's name. */
  name: string;
  leaf?: number;
  subleaf?: number;
  register?: Register;
  /** Inclusive bit range inside the register or MSR. */
  bits?: { lsb: number; msb: number };
  msr?: number;
  /** Hex value of the field (CPUID) or MSR, or "fault". */
  expected: string;
  observed: string;
  explanation: string;
}

/** Passes when every difference is a KVM runtime adjustment or of a class the user allowed. */
export function verdict(differences: readonly Difference[], allow: ReadonlySet<DifferenceClass>): boolean {
  // A loop rather than every(): on verify's cold path a builtin's first call costs ~0.1 ms.
  for (const d of differences) if (d.class !== "kvm-runtime" && !allow.has(d.class)) return false;
  return true;
}
