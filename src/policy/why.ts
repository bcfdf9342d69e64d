// The reasons behind the policy choices, one place each, so every table row that hides or
// forces something points at the same explanation.

export const WHY = {
  pmu: "the PMU is hidden: counters are host-specific state that does not migrate and KVM may have it disabled (enable_pmu=N)",
  pt: "Intel PT traces host-specific state and KVM only passes it with pt_mode=1; not migratable",
  mpx: "MPX is gone from Ice Lake on; exposing it would pin guests to older hosts",
  tsx: "TSX (HLE/RTM/TSXLDTRK) is disabled by microcode on many hosts and removed from newer ones; hiding it keeps profiles runnable everywhere",
  sgx: "SGX enclaves are bound to the physical CPU; not migratable",
  monitor: "MONITOR/MWAIT lets a guest idle on host cache lines; KVM does not advertise it and it does not migrate",
  thermal: "thermal and power management are the host's business; KVM exposes none of it except ARAT",
  debugStore: "debug store (DS/BTS/PEBS buffers) belongs to the PMU, which is hidden",
  kvmNever: "KVM never advertises it to guests",
  x2apic: "KVM emulates x2APIC on every host; guests boot faster with it and the profile must not depend on the host",
  hypervisor: "tells the guest it is virtualised (KVM always emulates it)",
  runtime: "KVM recomputes it at run time from guest state (CR4, APIC base, XCR0)",
  topology: "topology and APIC ids are per-VM and set by the VMM for each vCPU",
  cache: "cache and TLB geometry is descriptive; guests only size data structures from it",
  xsaveLayout: "XSAVE component sizes and offsets are the host's hardware layout; compared as equal in baselines",
  brand: "cosmetic; the host's own string is the honest one",
  tsc: "TSC/crystal frequencies are measured per host; KVM zeroes them",
  identity: "identity, not a capability: fixed in the profile, never compared",
  hybrid: "vCPUs are homogeneous: no hybrid core information",
  rdt: "resource director technology (CQM/CAT) is host partitioning, not exposed by KVM",
  keylocker: "Key Locker wraps keys with a per-boot host secret; not migratable",
  sev: "memory encryption is bound to the host's keys; not migratable",
  ibs: "AMD IBS samples host-specific state (PMU)",
  lwp: "AMD LWP was removed from Zen; not migratable",
  amdPower: "AMD power/performance management: host business",
  mawau: "MPX address width for user mode; MPX is hidden",
  inverted:
    "1 means the CPU saves less FPU state; a profile may claim it when some host lacks it, so the pool rule is superset",
  leLeaf: "the profile's maximum must not exceed the host's (the guest would see leaves the host cannot supply)",
  addressSize: "with TDP the guest's address width must not exceed the host's",
  vendorEq: "out-of-range CPUID and several MSRs behave differently per vendor; cross-vendor migration is unsupported",
  clflushEq: "cache line size for CLFLUSH must match, guests flush by it",
  nested: "nested virtualisation: inherited, dropped at apply time unless nested is requested",
  hyperv: "Hyper-V synthetic MSRs: only for guests configured with Hyper-V enlightenments",
  amxLayout: "AMX palette and TMUL sizes are hardware layout: passed through, compared as equal",
  rsba: "bad news (the guest must assume RSB underflow uses alternate predictors). Forced on in every profile: newer hosts (Cascade Lake, Sapphire Rapids) report RRSBA that older ones lack, and a guest told the bad news only mitigates more, so one profile runs on all of them",
  fbClear:
    'VERW clears fill buffers. Ice Lake and older report it, Sapphire Rapids does not and lacks TAA_NO, so Cloud Hypervisor\'s FB_CLEAR exception cannot apply; hidden, a guest then still clears buffers ("attempted, no microcode")',
  itsNo:
    "good news, inherited: KVM synthesises ITS_NO for guests of hosts not affected by indirect target selection. Every Skylake, Sapphire Rapids and Granite Rapids capture reports it on 5.10 and 6.1, no Cascade Lake or Ice Lake capture does; an embedded profile is the baseline of every host it promises to run on, so skylake (which must run on Cascade Lake) drops it and sapphire-rapids keeps it, sparing its guests ITS mitigations they do not need",
  tsxCtrl: "TSX is hidden and IA32_TSX_CTRL (0x122) is denied; advertising the MSR would make guests write it",
  neverPassed: "KVM never passes it to guests",
  archCapUndefined:
    "not defined by the SDM (as of Linux 6.18): KVM passes no IA32_ARCH_CAPABILITIES bit it does not know, so a host reporting one has a newer KVM; hidden, and compared as a subset so a later definition never makes a host incompatible",
  guestPhysBits:
    "AMD APM: 0 means the same as phys_addr_bits, so the effective value (this field, or phys_addr_bits where it is 0) is compared: the guest's address width must not exceed the host's",
  intelSpecOnAmd:
    "Intel-defined speculation-control bit: AMD guests use the AMD-defined bits in 0x80000008 EBX (amd_ibrs, amd_stibp, amd_ssbd); newer KVMs stopped reporting these on AMD, and QEMU's EPYC models never set them",
  ucode:
    "microcode revision has no feature meaning and KVM accepts any value; the destination host's revision is the truthful one",
  smm: "SMM-only state; a guest outside SMM cannot use it",
  lbr: "LBR/debug branch records belong to the PMU, which is hidden",
  debugctl: "Linux writes DEBUGCTL for single-step on branches (ptrace); KVM emulates it even with the PMU hidden",
  perfCaps:
    "PDCM is hidden with the PMU, so IA32_PERF_CAPABILITIES must be 0 (KVM refuses non-zero values without PDCM)",
  implicitMsr: "KVM emulates it for every guest without listing it in KVM_GET_MSR_INDEX_LIST",
  ppin: "protected processor inventory number identifies the physical CPU",
  invtsc: "invariant TSC: inherited; migration between different TSC frequencies needs TSC scaling on the destination",
  cpuidFaulting: "CPUID faulting is emulated by KVM on every host",
  pvDeprecated: "deprecated KVM paravirtual MMU interface",
  kvmHint: "a host-configuration hint set by the VMM, not a CPU property",
  svmMsr: "AMD SVM state, for nested guests only",
  xcr0Supervisor: "supervisor state component of a hidden feature",
} as const;
