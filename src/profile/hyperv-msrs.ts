// Hyper-V synthetic MSRs (Linux include/asm-generic/hyperv-tlfs.h and arch/x86/include/asm/hyperv-tlfs.h, HV_X64_MSR_*).
// A profile permits them only for guests that are told they run on Hyper-V (apply's `hyperv` option);
// otherwise the filter denies every one the host's KVM knows, so a guest cannot start using an
// enlightenment that the destination of a migration might not offer.
// `kvm`: KVM emulates it (arch/x86/kvm/hyperv.c, emulated_msrs_all in x86.c). GUEST_IDLE is defined but not emulated.

export interface HypervMsr {
  index: number;
  name: string;
  kvm: boolean;
}

const emulated = (index: number, name: string): HypervMsr => ({ index, name, kvm: true });

// A loop, not Array.from: this runs at every start, and Array.from's first call costs ~0.1 ms cold.
function series(base: number, count: number, name: (i: number) => string): HypervMsr[] {
  const out: HypervMsr[] = [];
  for (let i = 0; i < count; i++) out.push(emulated(base + i, name(i)));
  return out;
}

export const HYPERV_MSRS: readonly HypervMsr[] = [
  emulated(0x40000000, "HV_X64_MSR_GUEST_OS_ID"),
  emulated(0x40000001, "HV_X64_MSR_HYPERCALL"),
  emulated(0x40000002, "HV_X64_MSR_VP_INDEX"),
  emulated(0x40000003, "HV_X64_MSR_RESET"),
  emulated(0x40000010, "HV_X64_MSR_VP_RUNTIME"),
  emulated(0x40000020, "HV_X64_MSR_TIME_REF_COUNT"),
  emulated(0x40000021, "HV_X64_MSR_REFERENCE_TSC"),
  emulated(0x40000022, "HV_X64_MSR_TSC_FREQUENCY"),
  emulated(0x40000023, "HV_X64_MSR_APIC_FREQUENCY"),
  emulated(0x40000070, "HV_X64_MSR_EOI"),
  emulated(0x40000071, "HV_X64_MSR_ICR"),
  emulated(0x40000072, "HV_X64_MSR_TPR"),
  emulated(0x40000073, "HV_X64_MSR_VP_ASSIST_PAGE"),
  emulated(0x40000080, "HV_X64_MSR_SCONTROL"),
  emulated(0x40000081, "HV_X64_MSR_SVERSION"),
  emulated(0x40000082, "HV_X64_MSR_SIEFP"),
  emulated(0x40000083, "HV_X64_MSR_SIMP"),
  emulated(0x40000084, "HV_X64_MSR_EOM"),
  ...series(0x40000090, 16, (i) => `HV_X64_MSR_SINT${i}`),
  ...series(0x400000b0, 8, (i) => `HV_X64_MSR_STIMER${i >> 1}_${i & 1 ? "COUNT" : "CONFIG"}`),
  { index: 0x400000f0, name: "HV_X64_MSR_GUEST_IDLE", kvm: false },
  emulated(0x400000f1, "HV_X64_MSR_SYNDBG_CONTROL"),
  emulated(0x400000f2, "HV_X64_MSR_SYNDBG_STATUS"),
  emulated(0x400000f3, "HV_X64_MSR_SYNDBG_SEND_BUFFER"),
  emulated(0x400000f4, "HV_X64_MSR_SYNDBG_RECV_BUFFER"),
  emulated(0x400000f5, "HV_X64_MSR_SYNDBG_PENDING_BUFFER"),
  emulated(0x400000ff, "HV_X64_MSR_SYNDBG_OPTIONS"),
  ...series(0x40000100, 5, (i) => `HV_X64_MSR_CRASH_P${i}`),
  emulated(0x40000105, "HV_X64_MSR_CRASH_CTL"),
  emulated(0x40000106, "HV_X64_MSR_REENLIGHTENMENT_CONTROL"),
  emulated(0x40000107, "HV_X64_MSR_TSC_EMULATION_CONTROL"),
  emulated(0x40000108, "HV_X64_MSR_TSC_EMULATION_STATUS"),
  emulated(0x40000118, "HV_X64_MSR_TSC_INVARIANT_CONTROL"),
];

export const HYPERV_MSR_INDICES: ReadonlySet<number> = new Set(HYPERV_MSRS.map((m) => m.index));

export function isHypervMsr(index: number): boolean {
  return HYPERV_MSR_INDICES.has(index);
}
