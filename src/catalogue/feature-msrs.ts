// The MSRs KVM can report in KVM_GET_MSR_FEATURE_INDEX_LIST (kvm-x86.md section 4):
// values a VMM reads on the system fd and sets per vCPU, as opposed to ordinary saved MSRs.

export const VMX_CAPABILITY_MSRS = { first: 0x480, last: 0x491 } as const;

// A loop, not Array.from: this runs at every start, and Array.from's first call costs ~0.1 ms cold.
function vmxCapabilityMsrs(): number[] {
  const out: number[] = [];
  for (let i = VMX_CAPABILITY_MSRS.first; i <= VMX_CAPABILITY_MSRS.last; i++) out.push(i);
  return out;
}

export const KVM_FEATURE_MSR_INDICES: readonly number[] = [
  0x8b, // IA32_UCODE_REV / AMD PATCH_LEVEL
  0xce, // MSR_PLATFORM_INFO
  0x10a, // IA32_ARCH_CAPABILITIES
  0x345, // IA32_PERF_CAPABILITIES
  0xc0011029, // AMD DE_CFG
  ...vmxCapabilityMsrs(),
];

const FEATURE_SET: ReadonlySet<number> = new Set(KVM_FEATURE_MSR_INDICES);

export function isKvmFeatureMsr(index: number): boolean {
  return FEATURE_SET.has(index);
}
