// Binary files a VMM can load straight into the KVM ioctls (x86_64, little-endian, no header of our own):
//
//   kvm-cpuid2 (KVM_SET_CPUID2):  @0 nent u32, @4 padding u32, @8 nent × kvm_cpuid_entry2 (40 bytes each:
//                                 @0 function, @4 index, @8 flags, @12 eax, @16 ebx, @20 ecx, @24 edx, @28 padding u32[3])
//   kvm-msrs (KVM_SET_MSRS):      @0 nmsrs u32, @4 pad u32, @8 nmsrs × kvm_msr_entry (16 bytes each:
//                                 @0 index u32, @4 reserved u32, @8 data u64)
//   kvm-msr-filter (KVM_X86_SET_MSR_FILTER): @0 flags u32, @4 pad, @8 16 × kvm_msr_filter_range (24 bytes each:
//                                 @0 flags u32, @4 nmsrs u32, @8 base u32, @12 pad, @16 bitmap u64), then every
//                                 range's bitmap (ceil(nmsrs/64)*8 bytes) in range order from byte 392. Each range's
//                                 bitmap field holds its bitmap's byte offset in the file; a VMM adds the buffer address.
// Entries are written in canonical order (CPUID by function/index, MSRs by index) so the same input gives the same bytes.
import { sortCpuid, type CpuidEntry } from "../model/cpuid.ts";
import {
  decodeCpuid2,
  decodeMsrFilter,
  decodeMsrs,
  encodeCpuid2,
  encodeMsrFilter,
  encodeMsrs,
  type MsrFilter,
  type MsrValue,
} from "../kvm/index.ts";

export function kvmCpuid2Bytes(entries: readonly CpuidEntry[]): Uint8Array {
  return encodeCpuid2(sortCpuid(entries));
}

export function kvmMsrsBytes(msrs: readonly MsrValue[]): Uint8Array {
  return encodeMsrs([...msrs].sort((a, b) => a.index - b.index));
}

export function msrFilterBytes(filter: MsrFilter): Uint8Array {
  return encodeMsrFilter(filter);
}

export {
  decodeCpuid2 as cpuidFromKvmCpuid2Bytes,
  decodeMsrs as msrsFromKvmMsrsBytes,
  decodeMsrFilter as msrFilterFromBytes,
};
