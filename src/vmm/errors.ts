// The typed errors of the vCPU configuration API: each names the MSRs involved, their values and what KVM did.
import { msrName } from "../catalogue/index.ts";
import { CpuprofError, EXIT, InputError } from "../errors.ts";
import { hex32, hex64 } from "../model/hex.ts";

/** One MSR value KVM_SET_MSRS did not take (and that the vCPU does not already hold). */
export interface MsrRefusal {
  index: number;
  name: string;
  /** The value that was refused. */
  value: bigint;
  /** What the vCPU holds instead (KVM_GET_MSRS after the refusal), or null when KVM cannot read it either. */
  held: bigint | null;
  crucial: boolean;
}

export function describeRefusal(r: MsrRefusal): string {
  const held = r.held === null ? "it cannot be read back either" : `the vCPU holds ${hex64(r.held)}`;
  return `${r.name} (${hex32(r.index)}) = ${hex64(r.value)}: KVM_SET_MSRS refused it, ${held}`;
}

/**
 * KVM refused a crucial feature MSR (one whose value guests act on, e.g. IA32_ARCH_CAPABILITIES): the vCPU
 * cannot be what the profile promises, so a VMM must not run it (Cloud Hypervisor's rule; older VMMs only warn).
 */
export class CrucialMsrRefusedError extends CpuprofError {
  constructor(
    readonly refusals: readonly MsrRefusal[],
    readonly vcpuId: number,
  ) {
    super(`vCPU ${vcpuId}: KVM refused crucial MSR ${refusals.map(describeRefusal).join("; ")}`, EXIT.failed);
  }
}

/** A saved MSR set that does not fit this configuration: saved under a profile (or on a host) that permits more. */
export class SavedMsrsMismatchError extends InputError {
  constructor(readonly extra: readonly number[]) {
    const names = extra.map((m) => `${msrName(m)} (${hex32(m)})`);
    super(
      `cannot restore ${extra.length} saved MSR(s) outside this configuration's msrsToSave (the profile denies them, or this host's KVM does not save them): ${names.slice(0, 8).join(", ")}${names.length > 8 ? ", …" : ""}`,
    );
  }
}

/** KVM refused saved MSR values on restore: the guest would resume with different state. */
export class MsrRestoreRefusedError extends CpuprofError {
  constructor(
    readonly refusals: readonly MsrRefusal[],
    readonly vcpuId: number,
  ) {
    super(`vCPU ${vcpuId}: restore failed: ${refusals.map(describeRefusal).join("; ")}`, EXIT.failed);
  }
}

/** KVM_GET_MSRS could not read an MSR of the save list. */
export class MsrSaveError extends CpuprofError {
  constructor(
    readonly index: number,
    readonly vcpuId: number,
  ) {
    super(
      `vCPU ${vcpuId}: KVM_GET_MSRS could not read ${msrName(index)} (${hex32(index)}), which is in msrsToSave`,
      EXIT.environment,
    );
  }
}

/** The MSR filter does not fit KVM: more ranges than KVM_MSR_FILTER_MAX_RANGES. */
export class MsrFilterRangesError extends InputError {
  constructor(
    readonly ranges: number,
    readonly max: number,
  ) {
    super(
      `MSR filter has ${ranges} ranges, KVM accepts at most ${max} (KVM_MSR_FILTER_MAX_RANGES); permit more MSRs or fewer scattered ones`,
    );
  }
}
