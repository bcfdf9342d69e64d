// JSON form of an applied vCPU configuration (`cpuprof apply --format json`).
import { hex32, hex64 } from "../model/hex.ts";
import { stableJson } from "../model/document.ts";
import { cpuidEntryToJson } from "../model/host.ts";
import type { CpuidEntry } from "../model/cpuid.ts";
import type { MsrFilter } from "../kvm/index.ts";

export interface VcpuConfigLike {
  cpuid: CpuidEntry[];
  msrs: { index: number; value: bigint; crucial: boolean }[];
  msrFilter: MsrFilter | null;
  msrsToSave: number[];
  report: { compatible: boolean; problems: readonly object[]; notes: readonly string[] };
}

function bitmapHex(bitmap: Uint8Array): string {
  return Buffer.from(bitmap).toString("hex");
}

export function vcpuConfigToJson(profileName: string, c: VcpuConfigLike): object {
  return {
    format: "cpuprof-vcpu-config",
    formatVersion: 1,
    profile: profileName,
    compatible: c.report.compatible,
    report: c.report,
    cpuid: c.cpuid.map(cpuidEntryToJson),
    msrs: c.msrs.map((m) => ({ index: hex32(m.index), value: hex64(m.value), crucial: m.crucial })),
    msrsToSave: c.msrsToSave.map(hex32),
    msrFilter: c.msrFilter && {
      defaultAction: c.msrFilter.flags === 0 ? "allow" : "deny",
      ranges: c.msrFilter.ranges.map((r) => ({
        flags: (r.flags & 1 ? ["read"] : []).concat(r.flags & 2 ? ["write"] : []),
        base: hex32(r.base),
        nmsrs: r.nmsrs,
        bitmap: bitmapHex(r.bitmap),
      })),
    },
  };
}

export function serializeVcpuConfig(profileName: string, c: VcpuConfigLike): string {
  return stableJson(vcpuConfigToJson(profileName, c));
}

/** `apply --format msrs-to-save`: one lower-case 0x index per line, ascending, as a VMM's save list. */
export function msrsToSaveText(msrs: readonly number[]): string {
  return msrs.map((m) => `${hex32(m)}\n`).join("");
}
