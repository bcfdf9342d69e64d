// The vCPU configuration API: what a VMM does with an applied profile, over the typed KVM handles.
export {
  configureVm,
  configureVcpu,
  saveMsrs,
  restoreMsrs,
  type VmConfig,
  type VcpuSetupConfig,
  type VmSetup,
  type VcpuSetup,
  type VcpuSetupOptions,
  type RestoreResult,
} from "./configure.ts";
export {
  CrucialMsrRefusedError,
  MsrFilterRangesError,
  MsrRestoreRefusedError,
  MsrSaveError,
  SavedMsrsMismatchError,
  describeRefusal,
  type MsrRefusal,
} from "./errors.ts";
export { parseSavedMsrs, serializeSavedMsrs, SAVED_MSRS_FORMAT, type SavedMsrs } from "./saved.ts";
