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
  /**
   * Per query of `msrs`, whether the guest records the value it reads. An RDMSR whose value is not wanted
   * still runs (and still faults or exits as it would) but skips its two stores, which cost an emulating
   * hypervisor about 2.5 µs; it reports outcome "readable". Absent: every value is recorded.
   */
  msrValueWanted?: readonly boolean[];
}

export interface CpuidObservation {
  function: number;
  index: number;
  eax: number;
  ebx: number;
  ecx: number;
  edx: number;
}

interface MsrRead {
  index: number;
  /** Which user-space MSR exit KVM raised for this RDMSR, if any. */
  exit?: MsrExitReasonName;
}

/** What one RDMSR did: read a value, faulted, or read without its value recorded (ProbeQueries.msrValueWanted). */
export type MsrObservation =
  | (MsrRead & { outcome: "value"; value: bigint })
  | (MsrRead & { outcome: "fault" /** Always 0. */; value: 0n })
  | (MsrRead & { outcome: "readable" });

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
