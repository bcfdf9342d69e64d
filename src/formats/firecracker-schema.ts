// valibot schemas for Firecracker's CPU configuration JSON (cpu-template-helper output and custom templates).
import * as v from "valibot";
import { REGISTERS } from "../model/cpuid.ts";
import { isExactBitmap, parseIntString, parseTriBitmap } from "./bitmap.ts";

export const CPUID_BITS = 32;
export const MSR_BITS = 64;

/** An integer string ("0x1a" or "26") that fits in `bits`. */
export const intString = (bits: 32 | 64) =>
  v.pipe(
    v.string(),
    v.check((s) => parseIntString(s, bits) !== undefined, `a ${bits}-bit integer string such as "0x1a"`),
    v.transform((s) => parseIntString(s, bits)!),
  );

const exactBitmap = (bits: number) =>
  v.pipe(
    v.string(),
    v.check((s) => isExactBitmap(s, bits), `"0b" followed by exactly ${bits} characters 0 or 1`),
  );

const triBitmap = (bits: number) =>
  v.pipe(
    v.string(),
    v.check(
      (s) => parseTriBitmap(s, bits) !== undefined,
      `"0b" followed by ${bits} characters 0, 1 or x ('_' separators allowed)`,
    ),
    v.transform((s) => parseTriBitmap(s, bits)!),
  );

const flags = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(0xffffffff));

function cpuConfig<C extends v.GenericSchema, M extends v.GenericSchema>(cpuidBitmap: C, msrBitmap: M) {
  return v.object({
    kvm_capabilities: v.optional(v.pipe(v.array(v.string()), v.maxLength(1024))),
    cpuid_modifiers: v.pipe(
      v.array(
        v.object({
          leaf: intString(32),
          subleaf: intString(32),
          flags,
          modifiers: v.pipe(
            v.array(v.object({ register: v.picklist(REGISTERS), bitmap: cpuidBitmap })),
            v.maxLength(4),
          ),
        }),
      ),
      v.maxLength(4096),
    ),
    msr_modifiers: v.optional(
      v.pipe(v.array(v.object({ addr: intString(32), bitmap: msrBitmap })), v.maxLength(4096)),
      [],
    ),
  });
}

/** Full values: what `cpu-template-helper template dump` and fingerprints hold. */
export const exactCpuConfigSchema = cpuConfig(exactBitmap(CPUID_BITS), exactBitmap(MSR_BITS));

/** A custom CPU template: 0/1/x bitmaps. */
export const templateSchema = cpuConfig(triBitmap(CPUID_BITS), triBitmap(MSR_BITS));

const text = v.pipe(v.string(), v.maxLength(256));

export const fingerprintSchema = v.object({
  firecracker_version: text,
  kernel_version: text,
  microcode_version: text,
  bios_version: v.optional(text),
  bios_revision: v.optional(text),
  guest_cpu_config: exactCpuConfigSchema,
});
