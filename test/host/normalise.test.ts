import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { clearPerCpuFields, microcodeFromCpuinfo } from "../../src/host/normalise.ts";

const u32 = fc.nat({ max: 0xffffffff });
const entryArb = fc.record({
  function: fc.constantFrom(0, 1, 7, 0xb, 0x1f, 0x80000001),
  index: fc.nat({ max: 3 }),
  flags: fc.nat({ max: 1 }),
  eax: u32,
  ebx: u32,
  ecx: u32,
  edx: u32,
});

describe("clearPerCpuFields", () => {
  test("zeroes the APIC ids and nothing else", () => {
    fc.assert(
      fc.property(fc.array(entryArb, { maxLength: 20 }), (cpuid) => {
        const out = clearPerCpuFields(cpuid);
        out.forEach((e, i) => {
          const before = cpuid[i]!;
          expect(e.ebx).toBe(e.function === 1 ? (before.ebx & 0x00ffffff) >>> 0 : before.ebx);
          expect(e.edx).toBe(e.function === 0xb || e.function === 0x1f ? 0 : before.edx);
          expect([e.function, e.index, e.flags, e.eax, e.ecx]).toEqual([
            before.function,
            before.index,
            before.flags,
            before.eax,
            before.ecx,
          ]);
        });
      }),
    );
  });

  test("two captures that differ only in which CPU ran the ioctl become equal", () => {
    const a = [{ function: 1, index: 0, flags: 0, eax: 0xa10f11, ebx: 0x01000800, ecx: 0x81202000, edx: 0x178bfbff }];
    const b = [{ ...a[0]!, ebx: 0x00000800 }];
    expect(clearPerCpuFields(a)).toEqual(clearPerCpuFields(b));
  });
});

describe("microcodeFromCpuinfo", () => {
  test("reads the first microcode line as canonical hex", () => {
    expect(microcodeFromCpuinfo("processor\t: 0\nmicrocode\t: 0x01000065\nmicrocode\t: 0x2\n")).toBe("0x1000065");
    expect(microcodeFromCpuinfo("microcode : 0xABC\n")).toBe("0xabc");
  });
  test("absent or malformed gives null", () => {
    expect(microcodeFromCpuinfo("processor\t: 0\n")).toBeNull();
    expect(microcodeFromCpuinfo("microcode\t: unknown\n")).toBeNull();
  });
});
