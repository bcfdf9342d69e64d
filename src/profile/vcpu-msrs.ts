// The feature-MSR values a VMM sets on each vCPU (KVM_SET_MSRS before the first KVM_RUN),
// and which of them must succeed for the guest to be what the profile promises.
import type { FeatureMsr } from "../model/host.ts";
import type { MsrAdjustment, ProfileKind } from "../model/profile.ts";

/** VMX capability MSRs IA32_VMX_BASIC..IA32_VMX_VMFUNC: meaningful only for a guest that runs its own guests. */
export const VMX_CAPABILITY_MSRS = { first: 0x480, last: 0x491 } as const;

export function isVmxCapabilityMsr(index: number): boolean {
  return index >= VMX_CAPABILITY_MSRS.first && index <= VMX_CAPABILITY_MSRS.last;
}

/**
 * Whether a failed KVM_SET_MSRS of the MSR must stop the VM. Crucial: the value carries features or
 * mitigation state a guest acts on, so running with KVM's default would break the profile's promise.
 * Not crucial: the value is informational, and KVM's default is as good for migration.
 */
export const FEATURE_MSR_CRUCIAL: ReadonlyMap<number, { name: string; crucial: boolean; why: string }> = new Map([
  [
    0x8b,
    {
      name: "IA32_UCODE_REV",
      crucial: false,
      why: "a revision number with no feature meaning; KVM accepts any value and guests only log it",
    },
  ],
  [
    0xce,
    {
      name: "MSR_PLATFORM_INFO",
      crucial: false,
      why: "only bit 31 (CPUID faulting) matters, and KVM emulates it whatever the stored value",
    },
  ],
  [
    0x10a,
    {
      name: "IA32_ARCH_CAPABILITIES",
      crucial: true,
      why: "guests choose speculative-execution mitigations from its *_NO and RSBA bits",
    },
  ],
  [
    0x345,
    {
      name: "IA32_PERF_CAPABILITIES",
      crucial: true,
      why: "LBR/PEBS formats must match the host or perf state cannot migrate",
    },
  ],
  [
    0xc0011029,
    {
      name: "DE_CFG",
      crucial: true,
      why: "bit 1 makes LFENCE serializing, which guests rely on for Spectre v1 mitigation",
    },
  ],
]);

export interface VcpuMsr {
  index: number;
  value: bigint;
  crucial: boolean;
}

/** MSRs nobody has classified are crucial: failing loudly beats running with a value no one chose. */
export function isCrucialMsr(index: number): boolean {
  return isVmxCapabilityMsr(index) || (FEATURE_MSR_CRUCIAL.get(index)?.crucial ?? true);
}

/**
 * guest = (host & mask) | replacements per host feature MSR; a feature MSR the profile does not adjust is 0
 * (hidden) unless the profile is the host profile. VMX capability MSRs only for nested guests.
 */
export function vcpuMsrs(
  hostMsrs: readonly FeatureMsr[],
  adjustments: ReadonlyMap<number, MsrAdjustment>,
  kind: ProfileKind,
  nested: boolean,
): VcpuMsr[] {
  const out: VcpuMsr[] = [];
  for (const m of hostMsrs) {
    if (!nested && isVmxCapabilityMsr(m.index)) continue;
    let value = 0n;
    if (kind === "host") value = m.value;
    else {
      const adj = adjustments.get(m.index);
      if (adj) value = BigInt.asUintN(64, (m.value & adj.mask) | adj.replacements);
    }
    out.push({ index: m.index, value, crucial: isCrucialMsr(m.index) });
  }
  return out.sort((a, b) => a.index - b.index);
}
