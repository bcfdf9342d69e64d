// Hand-made vCPU configs and hosts for verify's pure tests, shaped like the development machines (kvm-x86.md section 0).
import { CPUID_FLAG_SIGNIFICANT_INDEX, type CpuidEntry } from "../../src/model/cpuid.ts";
import type { HostCapture } from "../../src/model/host.ts";
import type { Vendor } from "../../src/model/vendor.ts";
import { buildMsrFilter, knownMsrsOf } from "../../src/profile/filter.ts";
import type { ProbedConfig } from "../../src/verify/expect.ts";
import { osMsrNeeds, tableAdvertises } from "../../src/profile/guest-msrs.ts";

const SIG = CPUID_FLAG_SIGNIFICANT_INDEX;

/** Leaf 0 EBX, EDX, ECX for each vendor string. */
const VENDOR_REGS: Record<Vendor, { ebx: number; edx: number; ecx: number }> = {
  intel: { ebx: 0x756e6547, edx: 0x49656e69, ecx: 0x6c65746e }, // GenuineIntel
  amd: { ebx: 0x68747541, edx: 0x69746e65, ecx: 0x444d4163 }, // AuthenticAMD
};

export function entry(
  fn: number,
  index: number,
  flags: number,
  eax: number,
  ebx: number,
  ecx: number,
  edx: number,
): CpuidEntry {
  return {
    function: fn >>> 0,
    index: index >>> 0,
    flags,
    eax: eax >>> 0,
    ebx: ebx >>> 0,
    ecx: ecx >>> 0,
    edx: edx >>> 0,
  };
}

/** A small but realistic applied table: max basic 0xd, max extended 0x80000008, KVM signature leaves. */
export function sampleTable(vendor: Vendor): CpuidEntry[] {
  const v = VENDOR_REGS[vendor];
  return [
    entry(0x0, 0, 0, 0xd, v.ebx, v.ecx, v.edx),
    entry(0x1, 0, 0, 0x00a00f11, 0x00010800, 0x86a02203 | (1 << 26), 0x078bfbff),
    entry(0x7, 0, SIG, 0x1, 0x219c91a9, 0x00400004, 0x20000010),
    entry(0x7, 1, SIG, 0x0, 0, 0, 0),
    entry(0xb, 0, SIG, 0x1, 0x1, 0x100, 0x0),
    entry(0xb, 1, SIG, 0x0, 0x1, 0x201, 0x0),
    entry(0xd, 0, SIG, 0x7, 0x340, 0x340, 0x0),
    entry(0xd, 1, SIG, 0xf, 0x348, 0x0, 0x0),
    entry(0x40000000, 0, 0, 0x40000001, 0x4b4d564b, 0x564b4d56, 0x4d),
    entry(0x40000001, 0, 0, 0x01007afb, 0, 0, 0),
    entry(0x80000000, 0, 0, 0x80000008, v.ebx, v.ecx, v.edx),
    entry(0x80000001, 0, 0, 0x00a00f11, 0, 0x75c237ff & ~(1 << 2), 0x2fd3fbff),
    entry(0x80000008, 0, 0, 0x3030, 0x1005, 0, 0),
  ];
}

/** The development machine's MSR lists (kvm-x86.md sections 0 and 4). */
export function sampleHost(vendor: Vendor): Pick<HostCapture, "vendor" | "featureMsrs" | "msrIndexList"> {
  return {
    vendor,
    featureMsrs: [
      { index: 0x8b, value: 0x01000065n },
      { index: 0xce, value: 0x80000000n },
      { index: 0x10a, value: 0x400000000c000069n },
      { index: 0x345, value: 0n },
    ],
    msrIndexList: [
      0x10, 0x11, 0x12, 0x34, 0x3b, 0x48, 0x8b, 0xce, 0x10a, 0x140, 0x174, 0x175, 0x176, 0x17a, 0x17b, 0x1a0, 0x1d9,
      0x1db, 0x1dc, 0x1dd, 0x1de, 0x1fc, 0x277, 0x345, 0x6e0, 0x4b564d00, 0x4b564d01, 0x4b564d02, 0x4b564d03,
      0x4b564d04, 0x4b564d05, 0x4b564d06, 0x4b564d07, 0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084, 0xc0000102,
      0xc0010015, 0xc0010117, 0xc001011f,
    ],
  };
}

/** Permits the architectural basics and the feature MSRs; denies the KVM PV MSRs, LBRs, MTRRs and the rest. */
export const SAMPLE_PERMITTED: readonly number[] = [
  0x10, 0x3b, 0x48, 0x8b, 0xce, 0x10a, 0x174, 0x175, 0x176, 0x1a0, 0x277, 0x345, 0x6e0, 0xc0000081, 0xc0000082,
  0xc0000083, 0xc0000084, 0xc0000102,
];

export function sampleConfig(vendor: Vendor, table: CpuidEntry[] = sampleTable(vendor)): ProbedConfig {
  const host = sampleHost(vendor);
  return {
    cpuid: table,
    msrs: [
      { index: 0x8b, value: 0x01000065n },
      { index: 0xce, value: 0x80000000n },
      { index: 0x10a, value: 0x0c000069n },
    ],
    // a safe config: it also permits what a guest OS uses for the table's features (guest-msrs.ts)
    msrFilter: buildMsrFilter(knownMsrsOf(host), [
      ...SAMPLE_PERMITTED,
      ...osMsrNeeds(vendor, (f) => tableAdvertises(table, f)).needed.map((n) => n.msr),
    ]),
  };
}
