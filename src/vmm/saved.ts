// Saved MSR values (what saveMsrs gives) as a JSON document: what a VMM puts in a snapshot or sends
// with a migration, and what `cpuprof check-migration --saved FILE` reads. One writer, one reader.
import * as v from "valibot";
import { InputError } from "../errors.ts";
import { fieldSchemas, parseJsonText, parseWith, stableJson } from "../model/document.ts";
import { once } from "../model/memo.ts";
import { hex32, hex64 } from "../model/hex.ts";

export const SAVED_MSRS_FORMAT = "cpuprof-saved-msrs";
export const SAVED_MSRS_FORMAT_VERSION = 1;

export interface SavedMsrs {
  /** The vCPU the values were read from. */
  vcpuId: number;
  /** Ascending by index: exactly the configuration's msrsToSave. */
  msrs: { index: number; value: bigint }[];
}

/** Built on first use (fieldSchemas in model/document.ts says why). */
export const savedMsrsSchema = once(() => {
  const { hexU32, hexU64 } = fieldSchemas();
  return v.strictObject({
    format: v.literal(SAVED_MSRS_FORMAT),
    formatVersion: v.literal(SAVED_MSRS_FORMAT_VERSION),
    vcpuId: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(0xffffffff)),
    msrs: v.pipe(v.array(v.strictObject({ index: hexU32, value: hexU64 })), v.maxLength(65536)),
  });
});

export function serializeSavedMsrs(saved: SavedMsrs): string {
  return stableJson({
    format: SAVED_MSRS_FORMAT,
    formatVersion: SAVED_MSRS_FORMAT_VERSION,
    vcpuId: saved.vcpuId,
    msrs: saved.msrs.map((m) => ({ index: hex32(m.index), value: hex64(m.value) })),
  });
}

/** Parses and checks a saved-MSRs document (duplicates refused, order normalised). */
export function parseSavedMsrs(text: string, file: string): SavedMsrs {
  const w = parseWith(savedMsrsSchema(), parseJsonText(text, file), file);
  const seen = new Set<number>();
  for (const [i, m] of w.msrs.entries()) {
    if (seen.has(m.index)) throw new InputError(`${file}: $.msrs[${i}]: duplicate MSR ${hex32(m.index)}`);
    seen.add(m.index);
  }
  return { vcpuId: w.vcpuId, msrs: [...w.msrs].sort((a, b) => a.index - b.index) };
}
