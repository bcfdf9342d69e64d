import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  cpuidFromKvmCpuid2Bytes,
  kvmCpuid2Bytes,
  kvmMsrsBytes,
  msrFilterBytes,
  msrFilterFromBytes,
  msrsFromKvmMsrsBytes,
} from "../../src/formats/binary.ts";
import { bitmapBytes, MSR_FILTER_MAX_RANGES, MSR_FILTER_READ, MSR_FILTER_WRITE } from "../../src/kvm/layout.ts";
import { sortCpuid } from "../../src/model/cpuid.ts";

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const entry = fc.record({
  function: u32,
  index: u32,
  flags: fc.integer({ min: 0, max: 7 }),
  eax: u32,
  ebx: u32,
  ecx: u32,
  edx: u32,
});

describe("kvm_cpuid2 file", () => {
  test("layout: nent at 0, first entry at 8, registers at 12..24", () => {
    const bytes = kvmCpuid2Bytes([{ function: 7, index: 1, flags: 1, eax: 0x11, ebx: 0x22, ecx: 0x33, edx: 0x44 }]);
    const dv = new DataView(bytes.buffer);
    expect(bytes.byteLength).toBe(8 + 40);
    expect([0, 8, 12, 16, 20, 24, 28, 32].map((o) => dv.getUint32(o, true))).toEqual([
      1, 7, 1, 1, 0x11, 0x22, 0x33, 0x44,
    ]);
  });

  test("decode ∘ encode is the sorted input; order of input does not change the bytes", () => {
    fc.assert(
      fc.property(fc.uniqueArray(entry, { selector: (e) => `${e.function}/${e.index}`, maxLength: 40 }), (entries) => {
        const bytes = kvmCpuid2Bytes(entries);
        expect(cpuidFromKvmCpuid2Bytes(bytes)).toEqual(sortCpuid(entries));
        expect(kvmCpuid2Bytes([...entries].reverse())).toEqual(bytes);
      }),
      { numRuns: 100 },
    );
  });
});

describe("kvm_msrs file", () => {
  test("decode ∘ encode is the input sorted by index", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.record({ index: u32, value: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) }), {
          selector: (m) => m.index,
          maxLength: 40,
        }),
        (msrs) => {
          const bytes = kvmMsrsBytes(msrs);
          expect(bytes.byteLength).toBe(8 + 16 * msrs.length);
          expect(msrsFromKvmMsrsBytes(bytes)).toEqual([...msrs].sort((a, b) => a.index - b.index));
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe("kvm_msr_filter file", () => {
  test("decode ∘ encode is the identity, bitmaps follow the 392-byte struct", () => {
    const range = fc.integer({ min: 1, max: 300 }).chain((nmsrs) =>
      fc.record({
        flags: fc.constantFrom(MSR_FILTER_READ, MSR_FILTER_WRITE, MSR_FILTER_READ | MSR_FILTER_WRITE),
        base: u32,
        nmsrs: fc.constant(nmsrs),
        bitmap: fc.uint8Array({ minLength: bitmapBytes(nmsrs), maxLength: bitmapBytes(nmsrs) }),
      }),
    );
    fc.assert(
      fc.property(
        fc.array(range, { minLength: 0, maxLength: MSR_FILTER_MAX_RANGES }),
        fc.constantFrom(0, 1),
        (ranges, flags) => {
          const bytes = msrFilterBytes({ flags, ranges });
          expect(bytes.byteLength).toBe(392 + ranges.reduce((s, r) => s + bitmapBytes(r.nmsrs), 0));
          const back = msrFilterFromBytes(bytes);
          expect(back.flags).toBe(flags);
          expect(back.ranges.map((r) => ({ ...r, bitmap: [...r.bitmap] }))).toEqual(
            ranges.map((r) => ({ ...r, bitmap: [...r.bitmap] })),
          );
        },
      ),
      { numRuns: 50 },
    );
  });
});
