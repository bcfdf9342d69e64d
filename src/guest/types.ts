// What the guest check is given and what it reports.
import type { CpuidEntry } from "../model/cpuid.ts";
import type { MsrFilter } from "../kvm/layout.ts";
import type { MsrExitReasonName } from "../kvm/caps.ts";

/** A vCPU configuration to run the probe under. */
export interface GuestConfig {
  cpuid: CpuidEntry[];
  msrs: { index: number; value: bigint }[];
  filter: MsrFilter | null;
}

export interface CpuidQuery {
  function: number;
  index: number;
}

export interface ProbeQueries {
  cpuid: CpuidQuery[];
  msrs: number[];
}

export interface CpuidObservation {
  function: number;
  index: number;
  eax: number;
  ebx: number;
  ecx: number;
  edx: number;
}

export interface MsrObservation {
  index: number;
  outcome: "value" | "fault";
  /** 0 when the RDMSR faulted. */
  value: bigint;
  /** Which user-space MSR exit KVM raised for this RDMSR, if any. */
  exit?: MsrExitReasonName;
}

export interface GuestReport {
  cpuid: CpuidObservation[];
  msrs: MsrObservation[];
  /** KVM_RUN calls. */
  runs: number;
  /** KVM_GET_CPUID2 after the run. */
  kvmCpuid: CpuidEntry[];
  /** How many of config.msrs KVM_SET_MSRS accepted before the first refusal. */
  msrsSetDone: number;
  /** The MSRs of config.msrs KVM refused (the others after a refusal are still set). */
  msrsRefused: number[];
  elapsedMs: number;
}
