// KVM_CAP_* numbers cpuprof asks about (uapi linux/kvm.h).

export const KVM_CAP = {
  USER_MEMORY: 3,
  EXT_CPUID: 7,
  NR_MEMSLOTS: 10,
  INTERNAL_ERROR_DATA: 40,
  ENABLE_CAP: 54,
  MAX_VCPUS: 66,
  EXT_EMUL_CPUID: 95,
  IMMEDIATE_EXIT: 136,
  X86_DISABLE_EXITS: 143,
  GET_MSR_FEATURES: 153,
  X86_USER_SPACE_MSR: 188,
  X86_MSR_FILTER: 189,
  ENFORCE_PV_FEATURE_CPUID: 190,
  XSAVE2: 208,
  DISABLE_QUIRKS2: 213,
} as const;

export type KvmCapName = keyof typeof KVM_CAP;

/** KVM_CAP_X86_USER_SPACE_MSR args[0] bits; run.msr.reason carries the same values. */
export const MSR_EXIT_REASON = {
  inval: 1 << 0,
  unknown: 1 << 1,
  filter: 1 << 2,
} as const;
export type MsrExitReasonName = keyof typeof MSR_EXIT_REASON;

export function msrExitReasonName(reason: number): MsrExitReasonName | undefined {
  return (Object.keys(MSR_EXIT_REASON) as MsrExitReasonName[]).find((k) => MSR_EXIT_REASON[k] === reason);
}

/** KVM_API_VERSION: the only version the stable API has ever had. */
export const KVM_API_VERSION = 12;
