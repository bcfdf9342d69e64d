// The VMM's side of a profile, over the typed handles: what Cloud Hypervisor's CPU manager does with one.
// configureVm installs the MSR filter before any vCPU runs; configureVcpu sets CPUID, then the feature MSRs,
// failing hard when a crucial one is refused; saveMsrs/restoreMsrs move exactly the profile's save list.
import { msrName } from "../catalogue/index.ts";
import { EnvironmentError } from "../errors.ts";
import { KVM_CAP, MSR_FILTER_MAX_RANGES, type MsrFilter, type MsrValue, type Vcpu, type Vm } from "../kvm/index.ts";
import type { CpuidEntry } from "../model/cpuid.ts";
import { isCrucialMsr } from "../profile/vcpu-msrs.ts";
import {
  CrucialMsrRefusedError,
  MsrFilterRangesError,
  MsrRestoreRefusedError,
  MsrSaveError,
  SavedMsrsMismatchError,
  type MsrRefusal,
} from "./errors.ts";
import type { SavedMsrs } from "./saved.ts";

/** What configureVm reads of an applied configuration (applyProfile's VcpuConfig has it). */
export interface VmConfig {
  msrFilter: MsrFilter | null;
}

/** What configureVcpu reads: the CPUID table and the feature-MSR values (crucial defaults to the table in vcpu-msrs.ts). */
export interface VcpuSetupConfig {
  cpuid: readonly CpuidEntry[];
  msrs: readonly { index: number; value: bigint; crucial?: boolean }[];
}

export interface VmSetup {
  /** Ranges of the installed filter; 0 when the configuration has none. */
  filterRanges: number;
}

/**
 * Installs the configuration's MSR filter on the VM (before its vCPUs run, as KVM requires for a consistent
 * view). Throws MsrFilterRangesError beyond KVM's range limit and EnvironmentError when KVM lacks the filter.
 */
export function configureVm(vm: Vm, config: VmConfig): VmSetup {
  const filter = config.msrFilter;
  if (!filter) return { filterRanges: 0 };
  if (filter.ranges.length > MSR_FILTER_MAX_RANGES)
    throw new MsrFilterRangesError(filter.ranges.length, MSR_FILTER_MAX_RANGES);
  if (vm.checkExtension(KVM_CAP.X86_MSR_FILTER) === 0)
    throw new EnvironmentError(
      "KVM on this host lacks KVM_CAP_X86_MSR_FILTER (189), needed to install the profile's MSR filter",
    );
  vm.setMsrFilter(filter);
  return { filterRanges: filter.ranges.length };
}

export interface VcpuSetup {
  /** Feature-MSR values now held by the vCPU. */
  msrsSet: number;
  /** Values KVM refused (crucial ones only when crucial: "report"), in the configuration's order. */
  refused: MsrRefusal[];
  /** Position in config.msrs of the first refusal (config.msrs.length when none): what one KVM_SET_MSRS would have done. */
  firstRefused: number;
}

export interface VcpuSetupOptions {
  /**
   * "throw" (default): a refused crucial MSR is a CrucialMsrRefusedError, after every other value is set.
   * "report": it is listed in `refused` like the others (for checkers such as verify, which then look at the guest).
   */
  crucial?: "throw" | "report";
}

/**
 * Writes entries with KVM_SET_MSRS, continuing past each refused one (KVM stops at the first), and returns the
 * refused ones. A refused value the vCPU already holds is not a refusal: the guest sees what was asked.
 */
function writeMsrs(
  vcpu: Vcpu,
  entries: readonly (MsrValue & { crucial: boolean })[],
): { at: number; refusal: MsrRefusal }[] {
  const out: { at: number; refusal: MsrRefusal }[] = [];
  let from = 0;
  while (from < entries.length) {
    const done = vcpu.setMsrs(entries.slice(from));
    const at = from + done;
    if (at >= entries.length) break;
    const e = entries[at]!;
    const held = vcpu.getMsrs([e.index])[0]?.value ?? null;
    if (held !== e.value)
      out.push({ at, refusal: { index: e.index, name: msrName(e.index), value: e.value, held, crucial: e.crucial } });
    from = at + 1;
  }
  return out;
}

/**
 * KVM_SET_CPUID2 with the table, then KVM_SET_MSRS with the feature-MSR values (CPUID first: KVM checks MSR
 * values against it). Non-crucial refusals are reported in the result; a crucial one throws
 * CrucialMsrRefusedError (naming MSR, value and what KVM kept) unless options.crucial is "report".
 */
export function configureVcpu(vcpu: Vcpu, config: VcpuSetupConfig, options: VcpuSetupOptions = {}): VcpuSetup {
  vcpu.setCpuid2(config.cpuid);
  const entries = config.msrs.map((m) => ({
    index: m.index,
    value: m.value,
    crucial: m.crucial ?? isCrucialMsr(m.index),
  }));
  const refused = writeMsrs(vcpu, entries);
  const crucial = refused.filter((r) => r.refusal.crucial).map((r) => r.refusal);
  if (crucial.length > 0 && (options.crucial ?? "throw") === "throw")
    throw new CrucialMsrRefusedError(crucial, vcpu.id);
  return {
    msrsSet: entries.length - refused.length,
    refused: refused.map((r) => r.refusal),
    firstRefused: refused[0]?.at ?? entries.length,
  };
}

/** Reads exactly config.msrsToSave from the vCPU (KVM_GET_MSRS, as the host). Throws MsrSaveError naming an unreadable MSR. */
export function saveMsrs(vcpu: Vcpu, config: { msrsToSave: readonly number[] }): SavedMsrs {
  const msrs = vcpu.getMsrs(config.msrsToSave);
  if (msrs.length < config.msrsToSave.length) throw new MsrSaveError(config.msrsToSave[msrs.length]!, vcpu.id);
  return { vcpuId: vcpu.id, msrs };
}

export interface RestoreResult {
  restored: number;
  /** MSRs of msrsToSave the saved set lacks (a source that saved fewer, e.g. an older kernel): left at their reset values. */
  notSaved: number[];
}

/**
 * Writes saved values back, only ever MSRs of config.msrsToSave: a saved MSR outside it (a source profile that
 * permits more, or a host whose KVM saves more) is refused with SavedMsrsMismatchError before anything is
 * written. A value KVM refuses is a MsrRestoreRefusedError naming it.
 */
export function restoreMsrs(
  vcpu: Vcpu,
  config: { msrsToSave: readonly number[] },
  saved: Pick<SavedMsrs, "msrs">,
): RestoreResult {
  const allowed = new Set(config.msrsToSave);
  const extra = [...new Set(saved.msrs.map((m) => m.index >>> 0).filter((m) => !allowed.has(m)))].sort((a, b) => a - b);
  if (extra.length > 0) throw new SavedMsrsMismatchError(extra);
  const byIndex = new Map(saved.msrs.map((m) => [m.index >>> 0, m.value]));
  const entries = config.msrsToSave
    .filter((m) => byIndex.has(m))
    .map((index) => ({ index, value: byIndex.get(index)!, crucial: true }));
  const refused = writeMsrs(vcpu, entries);
  if (refused.length > 0)
    throw new MsrRestoreRefusedError(
      refused.map((r) => r.refusal),
      vcpu.id,
    );
  return { restored: entries.length, notSaved: config.msrsToSave.filter((m) => !byIndex.has(m)) };
}
