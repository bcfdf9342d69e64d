// What changed under a host between two captures besides its CPU features, as Firecracker's
// `fingerprint compare` reports it: kernel release, microcode revision, firmware (BIOS).
import type { HostCapture } from "../model/host.ts";

export const DRIFT_FIELDS = ["kernel", "microcode", "bios"] as const;
export type DriftField = (typeof DRIFT_FIELDS)[number];

/** Every part `diff --fields` can choose: the CPU parts of diffConfigs and the host drift fields. */
export const DIFF_PARTS = ["vendor", "cpuid", "msrs", "permitted", ...DRIFT_FIELDS] as const;
export type DiffPart = (typeof DIFF_PARTS)[number];

export interface DriftChange {
  field: DriftField;
  a: string | null;
  b: string | null;
}

/** Changed fields among `fields`; a field a capture does not record (older captures: bios) is not compared. */
export function hostDrift(a: HostCapture, b: HostCapture, fields: readonly DriftField[] = DRIFT_FIELDS): DriftChange[] {
  const out: DriftChange[] = [];
  for (const field of fields) {
    const va = a[field];
    const vb = b[field];
    if (va === undefined || vb === undefined) continue;
    if (va !== vb) out.push({ field, a: va, b: vb });
  }
  return out;
}
