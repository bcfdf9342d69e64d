// The one table of CPUID bits KVM rewrites at run time from vCPU state (kvm_update_cpuid_runtime),
// so a guest legitimately sees them differ from the table userspace set. Listed by verify, never failures.
import type { Register } from "../model/cpuid.ts";

export interface RuntimeField {
  leaf: number;
  subleaf: number;
  register: Register;
  lsb: number;
  msb: number;
  name: string;
  /** Why the guest's value follows vCPU state rather than the profile. */
  reason: string;
}

export const KVM_RUNTIME_FIELDS: readonly RuntimeField[] = [
  {
    leaf: 0x1,
    subleaf: 0,
    register: "ecx",
    lsb: 27,
    msb: 27,
    name: "osxsave",
    reason: "KVM mirrors CR4.OSXSAVE, which the guest OS sets",
  },
  {
    leaf: 0x1,
    subleaf: 0,
    register: "edx",
    lsb: 9,
    msb: 9,
    name: "apic",
    reason: "KVM mirrors IA32_APIC_BASE.EN (bit 11)",
  },
  {
    leaf: 0x1,
    subleaf: 0,
    register: "ecx",
    lsb: 3,
    msb: 3,
    name: "monitor",
    reason: "KVM mirrors IA32_MISC_ENABLE[18] when the MISC_ENABLE_NO_MWAIT quirk is disabled",
  },
  {
    leaf: 0x7,
    subleaf: 0,
    register: "ecx",
    lsb: 4,
    msb: 4,
    name: "ospke",
    reason: "KVM mirrors CR4.PKE, which the guest OS sets",
  },
  {
    leaf: 0xd,
    subleaf: 0,
    register: "ebx",
    lsb: 0,
    msb: 31,
    name: "xsave_size_xcr0",
    reason: "KVM recomputes the XSAVE area size for the guest's current XCR0",
  },
  {
    leaf: 0xd,
    subleaf: 1,
    register: "ebx",
    lsb: 0,
    msb: 31,
    name: "xsaves_size_xcr0_xss",
    reason: "KVM recomputes the compacted XSAVE size for the guest's current XCR0 | IA32_XSS",
  },
];

/** The runtime fields of one register of the entry at (leaf, subleaf). Leaf 1 is not indexed, so any subleaf matches it. */
export function runtimeFieldsOf(leaf: number, subleaf: number, register: Register): RuntimeField[] {
  return KVM_RUNTIME_FIELDS.filter(
    (f) => f.leaf === leaf >>> 0 && f.register === register && (leaf === 0x1 || f.subleaf === subleaf >>> 0),
  );
}
