// Which KVM vendor module provides /dev/kvm: it explains what a guest check finds
// (kvm_pvm, for one, rewrites guest CPUID after KVM_SET_CPUID2).
import { pathExists } from "../kvm/posix.ts";

export const KVM_VENDOR_MODULES = ["kvm_intel", "kvm_amd", "kvm_pvm"] as const;
export type KvmVendorModule = (typeof KVM_VENDOR_MODULES)[number];

export function kvmVendorModule(sysModule = "/sys/module"): KvmVendorModule | null {
  return KVM_VENDOR_MODULES.find((m) => pathExists(`${sysModule}/${m}`)) ?? null;
}
