// The KVM layer: the only code that touches FFI. Everything above imports from here.
export { Kvm, DEFAULT_KVM_PATH } from "./system.ts";
export { Vm, type MemorySlot } from "./vm.ts";
export { Vcpu } from "./vcpu.ts";
export { RunWatchdog, WATCHDOG_SIGNAL } from "./watchdog.ts";
export { GuestMemory, PAGE_SIZE } from "./memory.ts";
export { KvmError } from "./error.ts";
export { backgroundClosesSettled } from "./fd.ts";
export {
  KVM_CAP,
  MSR_EXIT_REASON,
  msrExitReasonName,
  KVM_API_VERSION,
  type KvmCapName,
  type MsrExitReasonName,
} from "./caps.ts";
export { EXIT_REASONS, exitReasonName, decodeExit, type VcpuExit, type ExitReasonName } from "./exit.ts";
export { ERRNO, errnoName, describeErrno } from "./errno.ts";
export { KVM_IOCTLS, ioc, type IoctlName } from "./ioctls.ts";
export * from "./layout.ts";
