import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import type { CpuidEntry } from "../../src/model/cpuid.ts";
import { brandOf, vendorStringOf } from "../../src/model/vendor.ts";

/** The decoding as first written (TextDecoder "latin1" over the registers' bytes): the reference. */
function referenceText(regs: readonly number[]): string {
  const bytes = new Uint8Array(regs.length * 4);
  const view = new DataView(bytes.buffer);
  regs.forEach((r, i) => view.setUint32(i * 4, r >>> 0, true));
  return new TextDecoder("latin1").decode(bytes);
}

const entry = (fn: number, [eax, ebx, ecx, edx]: readonly number[]): CpuidEntry => ({
  function: fn,
  index: 0,
  flags: 0,
  eax: eax!,
  ebx: ebx!,
  ecx: ecx!,
  edx: edx!,
});
// Bytes weighted towards the interesting ones: NUL, spaces, ASCII, and 0x80-0x9f (where windows-1252 differs).
const byte = fc.oneof(
  fc.constantFrom(0, 0x20, 0x41, 0x7a, 0x80, 0x8a, 0x9f, 0xa0, 0xff),
  fc.integer({ min: 0, max: 255 }),
);
const reg = fc.tuple(byte, byte, byte, byte).map(([a, b, c, d]) => (a | (b << 8) | (c << 16) | (d << 24)) >>> 0);
const regs4 = fc.tuple(reg, reg, reg, reg);

describe("CPUID strings", () => {
  test("vendor string: the registers' bytes decoded as latin1 (windows-1252), EBX EDX ECX", () => {
    fc.assert(
      fc.property(regs4, ([eax, ebx, ecx, edx]) => {
        expect(vendorStringOf([entry(0, [eax, ebx, ecx, edx])])).toBe(referenceText([ebx, edx, ecx]));
      }),
      { numRuns: 500 },
    );
  });

  test("brand string: 0x80000002-4 decoded, NULs dropped, trimmed; undefined when empty", () => {
    fc.assert(
      fc.property(regs4, regs4, regs4, (a, b, c) => {
        const cpuid = [entry(0x80000002, a), entry(0x80000003, b), entry(0x80000004, c)];
        const want = referenceText([...a, ...b, ...c])
          .replace(/\0/g, "")
          .trim();
        expect(brandOf(cpuid)).toBe(want.length > 0 ? want : undefined);
      }),
      { numRuns: 500 },
    );
  });

  test("a real brand string reads as itself", () => {
    const text = "AMD EPYC 7763 64-Core Processor                 \0";
    const bytes = new TextEncoder().encode(text.padEnd(48, "\0"));
    const dv = new DataView(bytes.buffer);
    const r = (i: number) => dv.getUint32(i * 4, true);
    const cpuid = [0, 1, 2].map((k) => entry(0x80000002 + k, [r(4 * k), r(4 * k + 1), r(4 * k + 2), r(4 * k + 3)]));
    expect(brandOf(cpuid)).toBe("AMD EPYC 7763 64-Core Processor");
  });
});
