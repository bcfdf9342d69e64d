// cpuprof as a library: `import { applyProfile, generateProfile, ... } from "cpuprof"`.
// Everything here is pure except captureLiveHost, runGuestProbe, verifyProfile, the KVM handles and the
// vCPU configuration API (configureVm, configureVcpu, saveMsrs, restoreMsrs), which use /dev/kvm.

// Model and file formats
export type { CpuidEntry, Register } from "./model/cpuid.ts";
export type { HostCapture, FeatureMsr } from "./model/host.ts";
export type { Profile, CpuidAdjustment, MsrAdjustment } from "./model/profile.ts";
export type { Vendor } from "./model/vendor.ts";
export { parseHostCapture, serializeHost } from "./model/host.ts";
export { parseProfile, serializeProfile } from "./model/profile.ts";
export { jsonSchemaFor } from "./model/json-schema.ts";
export { CpuprofError, InputError, EnvironmentError, GuestError, EXIT } from "./errors.ts";

// Hosts
export { captureLiveHost, type CaptureOptions } from "./host/live.ts";
export { loadHostFile } from "./formats/host-file.ts";

// Profiles
export { generateProfile, hostProfile } from "./profile/generate.ts";
export { applyProfile, type ApplyOptions, type VcpuConfig } from "./profile/apply.ts";
export { checkCompatibility, type CompatReport, type CompatProblem } from "./profile/compat.ts";
export { buildMsrFilter, filterDecision, knownMsrsOf } from "./profile/filter.ts";
export { checkMigration } from "./profile/migration.ts";
export { describeProfile, guestChanges } from "./profile/describe.ts";
export { embeddedProfile, embeddedProfileNames } from "./embedded/profiles.ts";
export { policyFor } from "./policy/index.ts";

// Fleet
export { baselineHost } from "./fleet/baseline.ts";
export { baselineProfile } from "./fleet/baseline-profile.ts";
export { diffConfigs } from "./fleet/diff.ts";
export { compatibilityMatrix } from "./fleet/matrix.ts";
export { nodeLabels, formatFeatureFile } from "./fleet/labels.ts";
export { hostDrift } from "./fleet/host-drift.ts";

// A VMM's side, on /dev/kvm: typed handles Kvm -> Vm -> Vcpu and the vCPU configuration API over them
export {
  Kvm,
  Vm,
  Vcpu,
  GuestMemory,
  KvmError,
  KVM_CAP,
  type VcpuExit,
  type KvmRegs,
  type KvmSregs,
  type MsrFilter,
  type MsrValue,
} from "./kvm/index.ts";
export {
  configureVm,
  configureVcpu,
  saveMsrs,
  restoreMsrs,
  parseSavedMsrs,
  serializeSavedMsrs,
  CrucialMsrRefusedError,
  MsrFilterRangesError,
  MsrRestoreRefusedError,
  MsrSaveError,
  SavedMsrsMismatchError,
  type MsrRefusal,
  type SavedMsrs,
  type VcpuSetup,
  type RestoreResult,
} from "./vmm/index.ts";

// Verification on /dev/kvm
export { runGuestProbe } from "./guest/index.ts";
export { verifyProfile, verifyAll } from "./verify/run.ts";

// Other VMMs' formats
export { exportChv, importChv } from "./formats/chv.ts";
export { exportFirecrackerTemplate, importFirecrackerTemplate } from "./formats/firecracker-template.ts";
export { kvmCpuid2Bytes, kvmMsrsBytes, msrFilterBytes } from "./formats/binary.ts";
export { profileToQemuCpu, parseQemuCpu, chooseQemuTable, type QemuCpu } from "./qemu/cpu-string.ts";
export { profileFromQemuExpansion } from "./qemu/import.ts";
export { expandQemuCpu } from "./qemu/expand.ts";
export { QEMU_MODEL_TABLES } from "./qemu/models.ts";
export { profileToLibvirtCpu, formatLibvirtCpu, formatKubevirtCpu, type LibvirtCpu } from "./libvirt/cpu-xml.ts";
export { profileFromLibvirtXml } from "./libvirt/import.ts";
export { LIBVIRT_CPU_MAP } from "./libvirt/cpu-map.ts";

// Names
export { cpuidBitName, msrName, msrBitName, findCpuidFeature } from "./catalogue/index.ts";
