// AMD's table: the extended leaves and MSRs only AMD defines, on top of the shared rules.
import type { Policy, CpuidField, MsrField, MsrRule } from "./types.ts";
import { COMMON_CPUID, COMMON_MSR_FIELDS, COMMON_MSRS } from "./common.ts";
import {
  ALL_REGISTERS,
  ALL_SUBLEAVES as ALL,
  cpuidRegister,
  cataloguedRegister,
  cpuidRegisters,
  deny,
  feature,
  hidden,
  msrFields,
  nested,
  numeric,
  passthrough,
  permit,
} from "./rows.ts";
import { WHY } from "./why.ts";

const AMD_CPUID: readonly CpuidField[] = [
  ...cpuidRegister(0x7, 0, "edx", [
    hidden(26, "spec_ctrl", WHY.intelSpecOnAmd),
    hidden(27, "intel_stibp", WHY.intelSpecOnAmd),
    hidden(28, "flush_l1d", WHY.intelSpecOnAmd),
    hidden(31, "spec_ctrl_ssbd", WHY.intelSpecOnAmd),
  ]),
  ...cpuidRegister(0x80000000, ALL, "ebx", [numeric([0, 31], "ext_vendor_ebx", "eq", WHY.vendorEq)]),
  ...cpuidRegister(0x80000000, ALL, "ecx", [numeric([0, 31], "ext_vendor_ecx", "eq", WHY.vendorEq)]),
  ...cpuidRegister(0x80000000, ALL, "edx", [numeric([0, 31], "ext_vendor_edx", "eq", WHY.vendorEq)]),
  ...cpuidRegister(0x80000001, ALL, "eax", [numeric([0, 31], "ext_signature", "none", WHY.identity)]),
  ...cpuidRegister(0x80000001, ALL, "ebx", [
    passthrough([0, 15], "brand_id", "none", WHY.brand),
    passthrough([28, 31], "package_type", "none", WHY.topology),
  ]),
  ...cpuidRegisters(0x80000005, ALL, ALL_REGISTERS, passthrough([0, 31], "l1_cache_tlb", "none", WHY.cache)),
  ...cpuidRegister(0x80000007, ALL, "ebx", [hidden([0, 31], "ras_capabilities", WHY.amdPower)]),
  ...cpuidRegister(0x80000008, ALL, "ecx", [
    passthrough([0, 7], "nc_cores_minus_1", "none", WHY.topology),
    passthrough([12, 15], "apic_id_size", "none", WHY.topology),
    passthrough([16, 17], "perf_tsc_size", "none", WHY.topology),
  ]),
  ...cpuidRegister(0x80000008, ALL, "edx", [
    hidden([0, 15], "invlpgb_count", WHY.kvmNever),
    hidden([16, 25], "max_rdpru_id", WHY.kvmNever),
  ]),
  // Leaf 0x8000000A: SVM, for nested guests only.
  ...cpuidRegister(0x8000000a, ALL, "eax", [nested([0, 7], "svm_revision", "eq", WHY.nested)]),
  ...cpuidRegister(0x8000000a, ALL, "ebx", [nested([0, 31], "svm_nasid", "le", WHY.nested)]),
  ...cpuidRegister(0x8000000a, ALL, "edx", [
    nested(0, "npt"),
    nested(1, "lbrv"),
    hidden(2, "svm_lock", WHY.kvmNever),
    nested(3, "nrip_save"),
    nested(4, "tsc_scale"),
    nested(5, "vmcb_clean"),
    nested(6, "flushbyasid"),
    hidden(7, "decodeassists", WHY.kvmNever),
    nested(10, "pausefilter"),
    nested(12, "pfthreshold"),
    hidden(13, "avic", WHY.kvmNever),
    nested(15, "v_vmsave_vmload"),
    nested(16, "vgif"),
    hidden(18, "x2avic", WHY.kvmNever),
    hidden(20, "v_spec_ctrl", WHY.kvmNever),
    nested(25, "vnmi"),
    nested(28, "svme_addr_chk"),
  ]),
  ...cpuidRegisters(0x80000019, ALL, ["eax", "ebx"], passthrough([0, 31], "tlb_1g", "none", WHY.cache)),
  ...cpuidRegister(0x8000001a, ALL, "eax", [feature(0, "fp128"), feature(1, "movu"), feature(2, "fp256")]),
  ...cpuidRegisters(0x8000001b, ALL, ALL_REGISTERS, hidden([0, 31], "ibs_leaf", WHY.ibs)),
  ...cpuidRegisters(0x8000001c, ALL, ALL_REGISTERS, hidden([0, 31], "lwp_leaf", WHY.lwp)),
  ...cpuidRegisters(0x8000001d, ALL, ALL_REGISTERS, passthrough([0, 31], "cache_topology", "none", WHY.cache)),
  ...cpuidRegisters(0x8000001e, ALL, ALL_REGISTERS, passthrough([0, 31], "processor_topology", "none", WHY.topology)),
  ...cataloguedRegister(0x8000001f, ALL, "eax", (bits, name) => hidden(bits, name, WHY.sev)),
  ...cpuidRegister(0x8000001f, ALL, "ebx", [
    hidden([0, 5], "sev_cbit_position", WHY.sev),
    hidden([6, 11], "sev_phys_addr_reduction", WHY.sev),
    hidden([12, 31], "sev_num_vmpl", WHY.sev),
  ]),
  ...cpuidRegister(0x8000001f, ALL, "ecx", [hidden([0, 31], "sev_max_guests", WHY.sev)]),
  ...cpuidRegister(0x8000001f, ALL, "edx", [hidden([0, 31], "sev_min_asid", WHY.sev)]),
  ...cpuidRegisters(0x80000020, ALL, ALL_REGISTERS, hidden([0, 31], "platform_qos", WHY.rdt)),
  ...cpuidRegister(0x80000021, ALL, "eax", [
    feature(0, "no_nested_data_bp"),
    feature(1, "wrmsr_xx_base_ns"),
    feature(2, "lfence_rdtsc"),
    feature(5, "verw_clear"),
    feature(6, "null_sel_clr_base"),
    feature(8, "autoibrs"),
    { ...feature(9, "no_smm_ctl_msr"), compare: "none", why: "KVM emulates it on every host" },
    feature(17, "gp_on_user_cpuid"),
    feature(20, "prefetchi"),
    feature(24, "eraps"),
    feature(27, "sbpb"),
    feature(28, "ibpb_brtype"),
    feature(29, "srso_no"),
    feature(30, "srso_user_kernel_no"),
    hidden(31, "srso_msr_fix", WHY.kvmNever),
  ]),
  ...cpuidRegister(0x80000021, ALL, "ecx", [feature(1, "tsa_sq_no"), feature(2, "tsa_l1_no")]),
  ...cpuidRegisters(0x80000022, ALL, ["eax", "ecx", "edx"], hidden([0, 31], "amd_perfmon_v2", WHY.pmu)),
  ...cpuidRegister(0x80000022, ALL, "ebx", [
    hidden([0, 3], "amd_pmu_core_counters", WHY.pmu),
    hidden([4, 31], "amd_pmu_other_counters", WHY.pmu),
  ]),
  ...cpuidRegisters(0x80000026, ALL, ALL_REGISTERS, passthrough([0, 31], "ext_cpu_topology", "none", WHY.topology)),
];

const AMD_MSR_FIELDS: readonly MsrField[] = [
  ...msrFields(0xc0011029, [
    feature(1, "lfence_serializing", "DE_CFG: KVM refuses values outside the host's feature value"),
  ]),
];

const AMD_MSRS: readonly MsrRule[] = [
  deny(0xc0000300, "perfmon_v2_global", WHY.pmu, { last: 0xc0000303 }),
  permit(0xc0000104, "amd64_tsc_ratio", { nested: true, why: WHY.svmMsr }),
  deny(0xc0010000, "k7_perf", WHY.pmu, { last: 0xc0010007 }),
  permit(0xc0010010, "amd64_syscfg", { implicit: true, why: WHY.implicitMsr }),
  permit(0xc0010114, "vm_cr", { nested: true, why: WHY.svmMsr }),
  permit(0xc001011f, "amd64_virt_spec_ctrl"),
  permit(0xc0010140, "osvw", { last: 0xc0010141 }),
  deny(0xc0010200, "f15h_perf", WHY.pmu, { last: 0xc001020b }),
  permit(0xc0011029, "de_cfg", { feature: true }),
  deny(0xc0011030, "ibs", WHY.ibs, { last: 0xc001103a }),
];

export const AMD_POLICY: Policy = {
  vendor: "amd",
  cpuid: [...COMMON_CPUID, ...AMD_CPUID],
  msrFields: [...COMMON_MSR_FIELDS, ...AMD_MSR_FIELDS],
  msrs: [...COMMON_MSRS, ...AMD_MSRS],
};
