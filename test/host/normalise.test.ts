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

describe("microcodeFromCpuinfo against the line regex it replaces", () => {
  /**
   * The same rule as a regex per line (lines end at "\n" only: /proc/cpuinfo has no other terminator, and the
   * first version's multi-line regex also ended lines at "\r", so it read "a\rmicrocode:1" and this does not).
   */
  const reference = (text: string): string | null => {
    for (const line of text.split("\n")) {
      const m = /^microcode[ \t\r\v\f]*:[ \t\r\v\f]*(0[xX][0-9a-fA-F]+|[0-9a-fA-F]+)[ \t\r\v\f]*$/.exec(line);
      if (m?.[1] !== undefined) return `0x${BigInt(`0x${m[1].replace(/^0[xX]/, "")}`).toString(16)}`;
    }
    return null;
  };
  const piece = fc.constantFrom(
    "microcode",
    "microcodes",
    " ",
    "\t",
    "\r",
    ":",
    "0x",
    "0X",
    "0",
    "1a",
    "FF",
    "g",
    "zz",
    "processor\t: 0",
    "\n",
    "\n",
    "\n",
  );
  test("the same answer for every text made of cpuinfo-like pieces", () => {
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 30 }), (pieces) => {
        const text = pieces.join("");
        expect(microcodeFromCpuinfo(text)).toBe(reference(text));
      }),
      { numRuns: 5000 },
    );
    // Lines that match, so the property above is not all nulls.
    expect(microcodeFromCpuinfo("microcode\t: 0x0A0011D1\r\n")).toBe(reference("microcode\t: 0x0A0011D1\r\n"));
    expect(microcodeFromCpuinfo("x\nmicrocode:ff \t\nmicrocode : 0x2\n")).toBe("0xff");
  });
});
