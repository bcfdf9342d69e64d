// How a register or MSR splits into things a report can name: the policy's fields, with the bits of
// feature sets (subset/superset compare) and the bits no field names reported one by one.
import { bitMask32, bitMask64 } from "../model/hex.ts";
import type { Compare } from "../policy/types.ts";

export interface Segment {
  /** The field's name, for a numeric segment or a policy field of one bit; undefined: name each bit. */
  name: string | undefined;
  lsb: number;
  msb: number;
  /** Feature bits: a difference is "only in A/B"; otherwise it is a numeric difference. */
  bits: boolean;
}

interface FieldLike {
  lsb: number;
  msb: number;
  name: string;
  compare: Compare;
}

/** Segments covering every bit of a `width`-bit value, ordered by lsb; a bit claimed twice follows the first field. */
export function segmentsOf(fields: readonly FieldLike[], width: 32 | 64): Segment[] {
  const claimed = new Array<boolean>(width).fill(false);
  const out: Segment[] = [];
  for (const f of fields) {
    if (f.lsb < 0 || f.msb >= width || f.lsb > f.msb) continue;
    let free = true;
    for (let b = f.lsb; b <= f.msb; b++) free &&= !claimed[b];
    if (!free) continue;
    for (let b = f.lsb; b <= f.msb; b++) claimed[b] = true;
    const single = f.lsb === f.msb;
    const featureSet = f.compare === "subset" || f.compare === "superset";
    out.push({ name: single || !featureSet ? f.name : undefined, lsb: f.lsb, msb: f.msb, bits: single || featureSet });
  }
  for (let b = 0; b < width; b++) if (!claimed[b]) out.push({ name: undefined, lsb: b, msb: b, bits: true });
  return out.sort((a, b) => a.lsb - b.lsb);
}

export function segmentMask32(s: Segment): number {
  return bitMask32(s.lsb, s.msb);
}

export function segmentMask64(s: Segment): bigint {
  return bitMask64(s.lsb, s.msb);
}
