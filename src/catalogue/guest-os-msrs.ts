// What a guest OS does with the CPU it is shown: the MSRs it reads and writes when it sees a feature,
// and the architectural MSRs every x86-64 OS touches. From the SDM, the APM and Linux
// (arch/x86/kernel/cpu, arch/x86/kernel/apic, arch/x86/kernel/kvm*.c). A profile that advertises a feature
// must let the guest reach these MSRs (a Linux guest that sees tsc_deadline_timer programs its timer
// through 0x6e0 and takes #GP if the filter denies it), and one that hides every feature of an MSR must deny it.
import type { Vendor } from "../model/vendor.ts";

/** How a guest OS touches the MSRs of one row: verify reads the readable ones and checks write-only ones against the filter. */
export type OsMsrAccess = "read-write" | "read-only" | "write-only";

export interface GuestOsMsrUse {
  /** Inclusive MSR ranges. */
  msrs: readonly (readonly [first: number, last: number])[];
  /** Catalogue (Linux) names of CPUID features; the OS uses the MSRs when any is set. Empty: every OS uses them. */
  anyOf: readonly string[];
  /** Vendors whose OS code uses them; absent: both. */
  vendors?: readonly Vendor[];
  access: OsMsrAccess;
  why: string;
}

const one = (msr: number) => [msr, msr] as const;

export const GUEST_OS_MSRS: readonly GuestOsMsrUse[] = [
  // Architectural: every x86-64 OS.
  {
    msrs: [one(0xc0000080)],
    anyOf: [],
    access: "read-write",
    why: "EFER: long mode, NX and SYSCALL are enabled through it",
  },
  {
    msrs: [[0xc0000100, 0xc0000102]],
    anyOf: [],
    access: "read-write",
    why: "FS, GS and KERNEL_GS bases: per-CPU data and TLS in 64-bit mode",
  },
  {
    msrs: [one(0x1d9)],
    anyOf: [],
    access: "read-write",
    why: "DEBUGCTL: Linux sets BTF for ptrace block stepping and clears it on context switch",
  },
  {
    msrs: [one(0x8b)],
    anyOf: [],
    access: "read-write",
    why: "microcode revision: Linux reads it at boot on both vendors",
  },
  {
    msrs: [one(0x3a)],
    anyOf: [],
    vendors: ["intel"],
    access: "read-write",
    why: "IA32_FEATURE_CONTROL: Linux reads it on every Intel CPU (init_ia32_feat_ctl)",
  },
  {
    msrs: [one(0x1a0)],
    anyOf: [],
    vendors: ["intel"],
    access: "read-write",
    why: "IA32_MISC_ENABLE: Linux reads and updates it on every Intel CPU (early_init_intel)",
  },
  {
    msrs: [one(0xce)],
    anyOf: [],
    vendors: ["intel"],
    access: "read-write",
    why: "MSR_PLATFORM_INFO: Linux reads it for CPUID faulting and TSC frequency",
  },
  {
    msrs: [one(0x140)],
    anyOf: [],
    vendors: ["intel"],
    access: "read-write",
    why: "MISC_FEATURES_ENABLES: Linux enables CPUID faulting through it (arch_prctl ARCH_SET_CPUID)",
  },
  {
    msrs: [one(0xc0010015)],
    anyOf: [],
    vendors: ["amd"],
    access: "read-write",
    why: "HWCR: Linux reads it on every AMD CPU (TSC frequency, SMM lock)",
  },
  {
    msrs: [one(0xc0010010)],
    anyOf: [],
    vendors: ["amd"],
    access: "read-write",
    why: "SYSCFG: Linux reads it for memory encryption and TOM2 on every AMD CPU",
  },
  // Not here: DE_CFG (0xc0011029). Linux sets LFENCE-serialising through it with the fault-tolerant msr_set_bit,
  // and KVM emulates it only in kvm_amd: a guest OS copes without it.

  // Features from leaf 1 and 0x80000001.
  {
    msrs: [one(0x10)],
    anyOf: ["tsc"],
    access: "read-write",
    why: "IA32_TIME_STAMP_COUNTER: TSC synchronisation writes it",
  },
  {
    msrs: [one(0x1b)],
    anyOf: ["apic"],
    access: "read-write",
    why: "IA32_APIC_BASE: the APIC driver reads and enables it",
  },
  {
    msrs: [[0x174, 0x176]],
    anyOf: ["sep"],
    access: "read-write",
    why: "SYSENTER_CS/ESP/EIP: set up for 32-bit compat syscalls when SEP is present",
  },
  {
    msrs: [one(0x277)],
    anyOf: ["pat"],
    access: "read-write",
    why: "IA32_PAT: Linux programs its memory types when PAT is present",
  },
  {
    msrs: [one(0xfe), [0x200, 0x20f], one(0x250), [0x258, 0x259], [0x268, 0x26f], one(0x2ff)],
    anyOf: ["mtrr"],
    access: "read-write",
    why: "MTRRCAP, the variable and fixed MTRRs and MTRR_DEF_TYPE: Linux reads them all when MTRR is present",
  },
  {
    msrs: [[0x179, 0x17a]],
    anyOf: ["mca"],
    access: "read-write",
    why: "MCG_CAP and MCG_STATUS: machine-check setup reads them when MCA is present",
  },
  {
    msrs: [one(0x17b)],
    anyOf: ["mca"],
    access: "read-write",
    why: "MCG_CTL: written when MCG_CAP.MCG_CTL_P is set (KVM sets it where the VMM asks, KVM_X86_SETUP_MCE)",
  },
  {
    msrs: [[0x400, 0x47f]],
    anyOf: ["mca"],
    access: "read-write",
    why: "machine-check banks: Linux reads and clears every bank MCG_CAP counts",
  },
  {
    msrs: [[0xc0000081, 0xc0000084]],
    anyOf: ["syscall"],
    access: "read-write",
    why: "STAR, LSTAR, CSTAR and SFMASK: the SYSCALL entry points",
  },
  {
    msrs: [one(0xc0000103)],
    anyOf: ["rdtscp", "rdpid"],
    access: "read-write",
    why: "TSC_AUX: Linux stores the CPU number for RDTSCP/RDPID (vgetcpu)",
  },

  // Leaf 7 and XSAVE.
  {
    msrs: [one(0x3b)],
    anyOf: ["tsc_adjust"],
    access: "read-write",
    why: "IA32_TSC_ADJUST: Linux checks and corrects TSC skew through it",
  },
  {
    msrs: [one(0x6e0)],
    anyOf: ["tsc_deadline_timer"],
    access: "read-write",
    why: "IA32_TSC_DEADLINE: the local APIC timer in TSC-deadline mode",
  },
  {
    msrs: [one(0xe1)],
    anyOf: ["waitpkg"],
    access: "read-write",
    why: "IA32_UMWAIT_CONTROL: Linux sets the UMWAIT limit when WAITPKG is present",
  },
  { msrs: [one(0x6e1)], anyOf: ["pks"], access: "read-write", why: "IA32_PKRS: supervisor protection keys" },
  {
    msrs: [one(0x345)],
    anyOf: ["pdcm"],
    access: "read-only",
    why: "IA32_PERF_CAPABILITIES: read when PDCM is present",
  },
  {
    msrs: [one(0xda0)],
    anyOf: ["xsaves"],
    access: "read-write",
    why: "IA32_XSS: XSAVES supervisor state is enabled through it",
  },
  {
    msrs: [[0x1c4, 0x1c5]],
    anyOf: ["xfd"],
    access: "read-write",
    why: "IA32_XFD and IA32_XFD_ERR: AMX first-use trapping",
  },
  {
    msrs: [one(0x6a0), one(0x6a2), [0x6a4, 0x6a8]],
    anyOf: ["shstk", "ibt"],
    access: "read-write",
    why: "U_CET, S_CET, PL0-3_SSP and INTERRUPT_SSP_TABLE: CET setup",
  },

  // Speculation control: Intel's 7.0 EDX bits and AMD's 0x80000008 EBX bits name the same MSRs.
  {
    msrs: [one(0x48)],
    anyOf: ["spec_ctrl", "intel_stibp", "spec_ctrl_ssbd", "amd_ibrs", "amd_stibp", "amd_ssbd"],
    access: "read-write",
    why: "IA32_SPEC_CTRL: IBRS, STIBP and SSBD are set through it",
  },
  {
    msrs: [one(0x49)],
    anyOf: ["spec_ctrl", "amd_ibpb", "sbpb"],
    access: "write-only",
    why: "IA32_PRED_CMD: IBPB (and SBPB) are commands written to it",
  },
  {
    msrs: [one(0x10b)],
    anyOf: ["flush_l1d"],
    access: "write-only",
    why: "IA32_FLUSH_CMD: L1D flush on VM entry and context switch",
  },
  {
    msrs: [one(0x10a)],
    anyOf: ["arch_capabilities"],
    access: "read-only",
    why: "IA32_ARCH_CAPABILITIES: Linux picks its mitigations from it",
  },
  {
    msrs: [one(0xc001011f)],
    anyOf: ["virt_ssbd"],
    vendors: ["amd"],
    access: "read-write",
    why: "VIRT_SPEC_CTRL: SSBD for guests on AMD",
  },
  {
    msrs: [[0xc0010140, 0xc0010141]],
    anyOf: ["osvw"],
    vendors: ["amd"],
    access: "read-only",
    why: "OSVW_ID_LENGTH and OSVW_STATUS: AMD erratum workarounds",
  },

  // KVM paravirtual features (arch/x86/kernel/kvm.c, kvmclock.c).
  {
    msrs: [[0x11, 0x12]],
    anyOf: ["kvm_feature_clocksource"],
    access: "read-write",
    why: "MSR_KVM_WALL_CLOCK and MSR_KVM_SYSTEM_TIME: kvmclock, old interface",
  },
  {
    msrs: [[0x4b564d00, 0x4b564d01]],
    anyOf: ["kvm_feature_clocksource2"],
    access: "read-write",
    why: "MSR_KVM_WALL_CLOCK_NEW and MSR_KVM_SYSTEM_TIME_NEW: kvmclock",
  },
  {
    msrs: [one(0x4b564d02)],
    anyOf: ["kvm_feature_async_pf"],
    access: "read-write",
    why: "MSR_KVM_ASYNC_PF_EN: asynchronous page faults",
  },
  {
    msrs: [one(0x4b564d03)],
    anyOf: ["kvm_feature_steal_time"],
    access: "read-write",
    why: "MSR_KVM_STEAL_TIME: steal-time accounting",
  },
  {
    msrs: [one(0x4b564d04)],
    anyOf: ["kvm_feature_pv_eoi"],
    access: "read-write",
    why: "MSR_KVM_PV_EOI_EN: paravirtual end of interrupt",
  },
  {
    msrs: [one(0x4b564d05)],
    anyOf: ["kvm_feature_poll_control"],
    access: "read-write",
    why: "MSR_KVM_POLL_CONTROL: host-side halt polling control",
  },
  {
    msrs: [[0x4b564d06, 0x4b564d07]],
    anyOf: ["kvm_feature_async_pf_int"],
    access: "read-write",
    why: "MSR_KVM_ASYNC_PF_INT and MSR_KVM_ASYNC_PF_ACK: interrupt-based async PF",
  },
  {
    msrs: [one(0x4b564d08)],
    anyOf: ["kvm_feature_migration_control"],
    access: "read-write",
    why: "MSR_KVM_MIGRATION_CONTROL: encrypted-guest migration",
  },
];

/** Every MSR index of a row, ascending. */
export function osMsrIndices(use: GuestOsMsrUse): number[] {
  const out: number[] = [];
  for (const [first, last] of use.msrs) for (let i = first; i <= last; i++) out.push(i);
  return out;
}

/** The rows that apply to a vendor's guests. */
export function guestOsMsrsFor(vendor: Vendor): GuestOsMsrUse[] {
  return GUEST_OS_MSRS.filter((u) => u.vendors === undefined || u.vendors.includes(vendor));
}
