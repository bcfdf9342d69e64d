// Intel's table: the leaves and MSRs only Intel defines, on top of the shared rules.
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

const INTEL_CPUID: readonly CpuidField[] = [
  ...cpuidRegister(0x7, 0, "edx", [
    feature(26, "spec_ctrl"),
    feature(27, "intel_stibp"),
    feature(28, "flush_l1d"),
    feature(31, "spec_ctrl_ssbd"),
  ]),
  ...cpuidRegisters(0x2, ALL, ALL_REGISTERS, passthrough([0, 31], "cache_descriptors", "none", WHY.cache)),
  // Leaf 4: deterministic cache parameters; EAX[31:14] carry topology, the rest geometry.
  ...cpuidRegisters(0x4, ALL, ALL_REGISTERS, passthrough([0, 31], "cache_parameters", "none", WHY.cache)),
  ...cpuidRegisters(0x9, ALL, ALL_REGISTERS, hidden([0, 31], "dca_leaf", WHY.kvmNever)),
  // Leaf 0xA: architectural PMU. EBX is inverted (1 = event unavailable) but hidden all the same.
  ...cpuidRegister(0xa, ALL, "eax", [
    hidden([0, 7], "pmu_version", WHY.pmu),
    hidden([8, 15], "pmu_gp_counters", WHY.pmu),
    hidden([16, 23], "pmu_gp_counter_width", WHY.pmu),
    hidden([24, 31], "pmu_ebx_length", WHY.pmu),
  ]),
  ...cpuidRegisters(0xa, ALL, ["ebx", "ecx"], hidden([0, 31], "arch_perfmon", WHY.pmu)),
  ...cpuidRegister(0xa, ALL, "edx", [
    hidden([0, 4], "pmu_fixed_counters", WHY.pmu),
    hidden([5, 12], "pmu_fixed_counter_width", WHY.pmu),
    hidden([13, 31], "arch_perfmon_edx_high", WHY.pmu),
  ]),
  ...cpuidRegisters(0xf, ALL, ALL_REGISTERS, hidden([0, 31], "rdt_monitoring", WHY.rdt)),
  ...cpuidRegisters(0x10, ALL, ALL_REGISTERS, hidden([0, 31], "rdt_allocation", WHY.rdt)),
  // Leaves 0x12 (SGX) and 0x14 (PT): hidden, named piece by piece as the catalogue names each subleaf.
  ...(["eax", "ebx", "ecx"] as const).flatMap((r) =>
    cataloguedRegister(0x12, ALL, r, (bits, name) => hidden(bits, name, WHY.sgx)),
  ),
  ...cataloguedRegister(0x12, 0, "edx", (bits, name) => hidden(bits, name, WHY.sgx)),
  ...cataloguedRegister(0x12, { start: 1, end: ALL.end }, "edx", (bits, name) => hidden(bits, name, WHY.sgx)),
  ...(["eax", "ebx", "ecx"] as const).flatMap((r) => [
    ...cataloguedRegister(0x14, 0, r, (bits, name) => hidden(bits, name, WHY.pt)),
    ...cataloguedRegister(0x14, 1, r, (bits, name) => hidden(bits, name, WHY.pt)),
    ...cataloguedRegister(0x14, { start: 2, end: ALL.end }, r, (bits, name) => hidden(bits, name, WHY.pt)),
  ]),
  ...cataloguedRegister(0x14, ALL, "edx", (bits, name) => hidden(bits, name, WHY.pt)),
  ...cpuidRegisters(0x15, ALL, ALL_REGISTERS, passthrough([0, 31], "tsc_crystal", "none", WHY.tsc)),
  ...cpuidRegisters(0x16, ALL, ALL_REGISTERS, passthrough([0, 31], "frequencies", "none", WHY.tsc)),
  ...cpuidRegisters(0x17, ALL, ALL_REGISTERS, passthrough([0, 31], "soc_vendor", "none", WHY.brand)),
  ...cpuidRegisters(0x18, ALL, ALL_REGISTERS, passthrough([0, 31], "address_translation", "none", WHY.cache)),
  ...ALL_REGISTERS.flatMap((r) => cataloguedRegister(0x19, ALL, r, (bits, name) => hidden(bits, name, WHY.keylocker))),
  ...cpuidRegisters(0x1a, ALL, ALL_REGISTERS, hidden([0, 31], "hybrid_information", WHY.hybrid)),
  ...cpuidRegisters(0x1b, ALL, ALL_REGISTERS, hidden([0, 31], "pconfig_leaf", WHY.kvmNever)),
  ...cpuidRegisters(0x1c, ALL, ALL_REGISTERS, hidden([0, 31], "arch_lbr_leaf", WHY.lbr)),
  ...cpuidRegisters(0x1d, ALL, ALL_REGISTERS, passthrough([0, 31], "amx_palette", "eq", WHY.amxLayout)),
  ...cpuidRegisters(0x1e, ALL, ALL_REGISTERS, passthrough([0, 31], "amx_tmul", "eq", WHY.amxLayout)),
  ...cpuidRegisters(0x1f, ALL, ALL_REGISTERS, passthrough([0, 31], "v2_ext_topology", "none", WHY.topology)),
  ...cpuidRegisters(0x20, ALL, ALL_REGISTERS, hidden([0, 31], "hreset_leaf", WHY.kvmNever)),
  ...cpuidRegisters(0x23, ALL, ALL_REGISTERS, hidden([0, 31], "arch_perfmon_ext_leaf", WHY.pmu)),
  // Leaf 0x24: AVX10 converged vector ISA.
  ...cpuidRegister(0x24, 0, "eax", [numeric([0, 31], "max_subleaf_24", "le", WHY.leLeaf)]),
  ...cpuidRegister(0x24, 0, "ebx", [
    numeric([0, 7], "avx10_version", "le", "a newer AVX10 version is a superset of an older one"),
    feature(16, "avx10_128"),
    feature(17, "avx10_256"),
    feature(18, "avx10_512"),
  ]),
];

/** VMX capability MSRs: allowed-0 settings (low half) must be a superset, allowed-1 (high half) a subset. */
const VMX_CONTROL_MSRS: readonly [number, string][] = [
  [0x481, "vmx_pinbased_ctls"],
  [0x482, "vmx_procbased_ctls"],
  [0x483, "vmx_exit_ctls"],
  [0x484, "vmx_entry_ctls"],
  [0x48b, "vmx_procbased_ctls2"],
  [0x48d, "vmx_true_pinbased_ctls"],
  [0x48e, "vmx_true_procbased_ctls"],
  [0x48f, "vmx_true_exit_ctls"],
  [0x490, "vmx_true_entry_ctls"],
];

const INTEL_MSR_FIELDS: readonly MsrField[] = [
  ...msrFields(0x480, [nested([0, 63], "vmx_basic", "eq", "the VMCS revision and layout must match")]),
  ...VMX_CONTROL_MSRS.flatMap(([index, name]) =>
    msrFields(index, [nested([0, 31], `${name}_allowed0`, "superset"), nested([32, 63], `${name}_allowed1`, "subset")]),
  ),
  ...msrFields(0x485, [nested([0, 63], "vmx_misc", "eq")]),
  ...msrFields(0x486, [nested([0, 63], "vmx_cr0_fixed0", "eq")]),
  ...msrFields(0x487, [nested([0, 63], "vmx_cr0_fixed1", "eq")]),
  ...msrFields(0x488, [nested([0, 63], "vmx_cr4_fixed0", "eq")]),
  ...msrFields(0x489, [nested([0, 63], "vmx_cr4_fixed1", "eq")]),
  ...msrFields(0x48a, [nested([0, 63], "vmx_vmcs_enum", "le")]),
  ...msrFields(0x48c, [nested([0, 63], "vmx_ept_vpid_cap", "subset")]),
  ...msrFields(0x491, [nested([0, 63], "vmx_vmfunc", "subset")]),
];

const INTEL_MSRS: readonly MsrRule[] = [
  permit(0x3a, "feature_control"),
  permit(0xe1, "umwait_control"),
  deny(0x122, "tsx_ctrl", WHY.tsxCtrl),
  permit(0x1c4, "xfd", { last: 0x1c5, why: "AMX extended feature disable (XFD, XFD_ERR)" }),
  permit(0x480, "vmx_capabilities", { last: 0x491, feature: true, nested: true, why: WHY.nested }),
];

export const INTEL_POLICY: Policy = {
  vendor: "intel",
  cpuid: [...COMMON_CPUID, ...INTEL_CPUID],
  msrFields: [...COMMON_MSR_FIELDS, ...INTEL_MSR_FIELDS],
  msrs: [...COMMON_MSRS, ...INTEL_MSRS],
};
