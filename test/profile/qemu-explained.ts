// Why cpuprof's embedded profiles and QEMU's named CPU models of the same generation differ,
// feature by feature (Linux names). Checked against QEMU 7.2 (Debian 12) by
// qemu-crosscheck.test.ts, which fails on any difference this table does not list and on
// any entry that is no longer a difference. Differences on a QEMU property this QEMU does
// not have at all are explained at run time (the property is absent), not here.
//
// Facts behind the reasons: QEMU's unversioned model names resolve to -v1 under
// `-machine none`; the profiles were generated from real hosts' KVM_GET_SUPPORTED_CPUID
// as Firecracker reports it (../shared/fixtures/hosts/firecracker, kernel 6.1); under
// `-accel kvm` QEMU's kvm_default_props turn on kvmclock, kvm-nopiodelay, kvm-asyncpf,
// kvm-steal-time, kvm-pv-eoi, kvmclock-stable-bit and x2apic, and turn off monitor and svm;
// under TCG it turns off vme.

export type Accel = "kvm" | "tcg";

export interface Explained {
  /** Where the feature is: only in cpuprof's profile, or only in QEMU's model. */
  side: "profile" | "qemu";
  reason: string;
  /** Only a difference with this accelerator (QEMU's per-accelerator defaults). */
  accel?: Accel;
}

/** Embedded profile → QEMU model of the same generation. */
export const QEMU_MODEL_OF: Readonly<Record<string, string>> = {
  skylake: "Skylake-Server",
  "cascade-lake": "Cascadelake-Server",
  "ice-lake": "Icelake-Server",
  "sapphire-rapids": "SapphireRapids",
  "granite-rapids": "GraniteRapids",
  "epyc-milan": "EPYC-Milan",
  "epyc-genoa": "EPYC-Genoa",
};

const P = (reason: string, accel?: Accel): Explained => ({ side: "profile", reason, ...(accel ? { accel } : {}) });
const Q = (reason: string, accel?: Accel): Explained => ({ side: "qemu", reason, ...(accel ? { accel } : {}) });

// Reasons shared by several profiles.
const XCR0 = P(
  "XCR0 component named as a feature by cpuprof (0xD.0 EAX); QEMU has no property, it derives 0xD from avx/avx512f/pku",
);
const TSX = Q("cpuprof hides TSX (policy: static 0); the -v1 model still lists it (the noTSX versions drop it)");
const INVTSC = P(
  "invariant TSC: QEMU's named models never set invtsc (it blocks migration unless tsc-frequency is fixed)",
);
const TSC_ADJUST = P("IA32_TSC_ADJUST is emulated by KVM for every guest; QEMU's named models do not list tsc-adjust");
const SS = P("self-snoop: the host's KVM passes it through; QEMU's named models do not list ss");
const CPUID_FAULTING = P(
  "PLATFORM_INFO bit 31: KVM emulates CPUID faulting for every guest; QEMU has no property for it",
);
const KVM_PV_OFF = P(
  "KVM PV feature the source host offered; QEMU enables only kvmclock, nopiodelay, asyncpf, steal-time, pv-eoi and the stable bit by default",
);
const KVM_PV_TCG = P(
  "KVM PV feature: QEMU sets no KVM PV bits under TCG (its kvm_default_props apply with -accel kvm only)",
  "tcg",
);
const VME_TCG = P("QEMU's tcg_default_props turn vme off under TCG", "tcg");
const AMD_SPEC_ON_INTEL = P(
  "KVM synthesises AMD's 0x80000008 EBX speculation bits on Intel hosts; QEMU's Intel models do not list them",
);
const STIBP_SSBD = P(
  "QEMU's Intel model lists no version with this 7.0.EDX speculation-control bit; the host enumerates it",
);
const MD_CLEAR = P(
  "MD_CLEAR (VERW flushes buffers) comes with the host's microcode; QEMU's model does not list md-clear in any version",
);
const RRSBA = P("ARCH_CAPABILITIES bit 19: QEMU has no property for it");

/** Reasons shared by the Intel server profiles. */
function intelCommon(model: string): Record<string, Explained> {
  return {
    hle: TSX,
    rtm: TSX,
    constant_tsc: INVTSC,
    tsc_adjust: TSC_ADJUST,
    ss: SS,
    cpuid_faulting: CPUID_FAULTING,
    amd_ibpb: AMD_SPEC_ON_INTEL,
    amd_ibrs: AMD_SPEC_ON_INTEL,
    amd_stibp: AMD_SPEC_ON_INTEL,
    amd_ssbd: AMD_SPEC_ON_INTEL,
    intel_stibp: STIBP_SSBD,
    md_clear: MD_CLEAR,
    rrsba: RRSBA,
    rsba: P(`ARCH_CAPABILITIES RSBA as the source host's KVM reported it; no ${model} version lists rsba`),
    xsaves: P(`${model}-v1 has no xsaves (only the [XSAVES] versions add it)`),
    xcr0_x87: XCR0,
    xcr0_sse: XCR0,
    xcr0_avx: XCR0,
    xcr0_opmask: XCR0,
    xcr0_zmm_hi256: XCR0,
    xcr0_hi16_zmm: XCR0,
    xcr0_pkru: XCR0,
    ...kvmPv(),
  };
}

function kvmPv(): Record<string, Explained> {
  const out: Record<string, Explained> = { vme: VME_TCG };
  for (const f of ["pv_unhalt", "pv_tlb_flush", "pv_send_ipi", "poll_control", "pv_sched_yield", "async_pf_int"])
    out[`kvm_feature_${f}`] = KVM_PV_OFF;
  for (const f of [
    "clocksource",
    "clocksource2",
    "nop_io_delay",
    "async_pf",
    "steal_time",
    "pv_eoi",
    "clocksource_stable_bit",
  ])
    out[`kvm_feature_${f}`] = KVM_PV_TCG;
  return out;
}

/** ARCH_CAPABILITIES (7.0.EDX[29]) and its MSR bits, absent from the -v1 model, added by a later version. */
function archCapsFromVersion(model: string, version: number, bits: string[]): Record<string, Explained> {
  const why = P(
    `${model}-v1 has no ARCH_CAPABILITIES bits (added in -v${version}); KVM emulates the MSR for every guest`,
  );
  return Object.fromEntries(["arch_capabilities", ...bits].map((b) => [b, why]));
}

export const QEMU_EXPLAINED: Readonly<Record<string, Readonly<Record<string, Explained>>>> = {
  skylake: {
    ...intelCommon("Skylake-Server"),
    spec_ctrl_ssbd: STIBP_SSBD,
    spec_ctrl: P("Skylake-Server-v1 predates IBRS (the -IBRS/-v2 and later versions add spec-ctrl)"),
    umip: P(
      "KVM emulates UMIP on VMX (descriptor-table exiting) so the host offered it; Skylake-SP silicon and QEMU's model lack it",
    ),
    arch_capabilities: P("no Skylake-Server version lists ARCH_CAPABILITIES; KVM emulates the MSR for every guest"),
    skip_vmentry_l1dflush: P(
      "ARCH_CAPABILITIES bit KVM sets for its guests; no Skylake-Server version lists ARCH_CAPABILITIES bits",
    ),
    pschange_mc_no: P(
      "ARCH_CAPABILITIES bit KVM sets for its guests; no Skylake-Server version lists ARCH_CAPABILITIES bits",
    ),
  },
  "cascade-lake": {
    ...intelCommon("Cascadelake-Server"),
    umip: P(
      "KVM emulates UMIP on VMX (descriptor-table exiting) so the host offered it; Cascade Lake silicon and QEMU's model lack it",
    ),
    ...archCapsFromVersion("Cascadelake-Server", 2, ["ibrs_all", "mds_no", "rdcl_no", "skip_vmentry_l1dflush"]),
    pschange_mc_no: P(
      "ARCH_CAPABILITIES bit KVM sets for its guests; no Cascadelake-Server version lists pschange-mc-no",
    ),
  },
  "ice-lake": {
    ...intelCommon("Icelake-Server"),
    ...archCapsFromVersion("Icelake-Server", 3, [
      "ibrs_all",
      "mds_no",
      "rdcl_no",
      "skip_vmentry_l1dflush",
      "pschange_mc_no",
    ]),
    avx512ifma: P("Icelake-Server-v1 omits it; QEMU added it in Icelake-Server-v4"),
    fsrm: P("Icelake-Server-v1 omits it; QEMU added it in Icelake-Server-v4"),
    rdpid: P("Icelake-Server-v1 omits it; QEMU added it in Icelake-Server-v4"),
    sha_ni: P("Icelake-Server-v1 omits it; QEMU added it in Icelake-Server-v4"),
  },
  "epyc-milan": {
    erms: Q(
      "the source host's KVM CPUID (AWS Milan fixture) has 7.0.EBX[9] clear, so the generated profile cannot fix it",
    ),
    fsrm: Q(
      "the source host's KVM CPUID (AWS Milan fixture) has 7.0.EDX[4] clear, so the generated profile cannot fix it",
    ),
    perfctr_core: Q("cpuprof hides the PMU (policy: static 0); QEMU's model lists the core performance counters"),
    cmp_legacy: P(
      "QEMU computes CmpLegacy at CPUID time from the topology (set when a package has more than one thread), not from the model",
    ),
    constant_tsc: INVTSC,
    tsc_adjust: TSC_ADJUST,
    tsc_deadline_timer: P(
      "KVM emulates the TSC-deadline timer in its local APIC; QEMU's EPYC models do not list tsc-deadline (its Intel ones do)",
    ),
    cpuid_faulting: CPUID_FAULTING,
    virt_ssbd: P(
      "KVM emulates VIRT_SSBD (MSR_VIRT_SPEC_CTRL) for SVM guests; QEMU's EPYC-Milan does not list virt-ssbd",
    ),
    vaes: P("Zen 3 has it and the host offered it; QEMU 7.2's EPYC-Milan (v1, the only version) omits it"),
    vpclmulqdq: P("Zen 3 has it and the host offered it; QEMU 7.2's EPYC-Milan (v1, the only version) omits it"),
    movu: P("CPUID 0x8000001A performance hint: QEMU has no property for it"),
    fp256: P("CPUID 0x8000001A performance hint: QEMU has no property for it"),
    verw_clear: P("CPUID 0x80000021 EAX[5]: QEMU has no property for it"),
    no_smm_ctl_msr: P("CPUID 0x80000021 EAX[9]: QEMU has no property for it"),
    xcr0_x87: XCR0,
    xcr0_sse: XCR0,
    xcr0_avx: XCR0,
    xcr0_pkru: XCR0,
    ...kvmPv(),
    x2apic: P(
      "QEMU's EPYC-Milan model does not list x2apic; QEMU forces it on only under -accel kvm (kvm_default_props)",
      "tcg",
    ),
    svm: Q(
      "the source host's guest CPUID (Firecracker) has no SVM; QEMU turns svm off by default only under -accel kvm",
      "tcg",
    ),
    npt: Q(
      "nested paging: SVM sub-feature, absent with SVM from the source host's guest CPUID; listed by QEMU's model under TCG",
      "tcg",
    ),
    nrip_save: Q(
      "SVM sub-feature, absent with SVM from the source host's guest CPUID; listed by QEMU's model under TCG",
      "tcg",
    ),
    svme_addr_chk: Q(
      "SVM sub-feature, absent with SVM from the source host's guest CPUID; listed by QEMU's model under TCG",
      "tcg",
    ),
    monitor: Q(
      "cpuprof hides MONITOR/MWAIT (KVM does not advertise it); QEMU turns monitor off by default only under -accel kvm",
      "tcg",
    ),
  },
};
