// The probe image without a device: layout, query tables and result decoding.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { InputError } from "../../src/errors.ts";
import { assembleProbe } from "../../src/guest/code.ts";
import { readCpuidResults, readMsrResults, writeProbeImage } from "../../src/guest/image.ts";
import { CPUID_QUERY_SIZE, GUEST, GUEST_MEMORY_SIZE, MAX_CPUID_QUERIES, MAX_MSR_QUERIES, MSR_QUERY_SIZE, RESULT_SIZE, TABLE_HEADER } from "../../src/guest/layout.ts";

const u32 = fc.nat({ max: 0xffffffff });

describe("probe layout", () => {
  test("code, tables and results at full capacity do not overlap and fit in guest memory", () => {
    const code = assembleProbe().main.byteLength;
    const regions: [string, number, number][] = [
      ["gdt", GUEST.gdt, 24],
      ["idt", GUEST.idt, 14 * 16],
      ["code", GUEST.code, code],
      ["pml4", GUEST.pml4, 4096],
      ["pdpt", GUEST.pdpt, 4096],
      ["pd", GUEST.pd, 4096],
      ["cpuidTable", GUEST.cpuidTable, TABLE_HEADER + MAX_CPUID_QUERIES * CPUID_QUERY_SIZE],
      ["msrTable", GUEST.msrTable, TABLE_HEADER + MAX_MSR_QUERIES * MSR_QUERY_SIZE],
      ["cpuidResults", GUEST.cpuidResults, MAX_CPUID_QUERIES * RESULT_SIZE],
      ["msrResults", GUEST.msrResults, MAX_MSR_QUERIES * RESULT_SIZE],
    ];
    expect(GUEST.code + code).toBeLessThan(GUEST.stackTop - 0x1000);
    const sorted = regions.sort((a, b) => a[1] - b[1]);
    sorted.forEach(([name, start, size], i) => {
      const next = sorted[i + 1];
      if (next) expect(`${name} ends ${start + size <= next[1] ? "before" : "after"} ${next[0]}`).toBe(`${name} ends before ${next[0]}`);
      expect(start + size).toBeLessThanOrEqual(GUEST_MEMORY_SIZE);
    });
  });

  test("the #GP handler skips exactly the 2-byte RDMSR", () => {
    const { main, rdmsrOffset, gpHandlerOffset } = assembleProbe();
    expect([main[rdmsrOffset], main[rdmsrOffset + 1]]).toEqual([0x0f, 0x32]);
    // add qword [rsp], 2
    expect([...main.subarray(gpHandlerOffset + 4, gpHandlerOffset + 9)]).toEqual([0x48, 0x83, 0x04, 0x24, 0x02]);
  });

  test("query tables carry every query; results decode per query", () => {
    fc.assert(fc.property(
      fc.array(fc.record({ function: u32, index: u32 }), { maxLength: 40 }),
      fc.array(u32, { maxLength: 40 }),
      (cpuid, msrs) => {
        const mem = new Uint8Array(GUEST_MEMORY_SIZE);
        writeProbeImage(mem, { cpuid, msrs });
        const dv = new DataView(mem.buffer);
        expect(dv.getUint32(GUEST.cpuidTable, true)).toBe(cpuid.length);
        expect(dv.getUint32(GUEST.msrTable, true)).toBe(msrs.length);
        cpuid.forEach((c, i) => {
          expect(dv.getUint32(GUEST.cpuidTable + TABLE_HEADER + i * 8, true)).toBe(c.function);
          expect(dv.getUint32(GUEST.cpuidTable + TABLE_HEADER + i * 8 + 4, true)).toBe(c.index);
          dv.setUint32(GUEST.cpuidResults + i * 16 + 4, c.function ^ 0x5a5a5a5a, true);
        });
        msrs.forEach((m, i) => {
          expect(dv.getUint32(GUEST.msrTable + TABLE_HEADER + i * 4, true)).toBe(m);
          dv.setUint32(GUEST.msrResults + i * 16, m, true);
          dv.setUint32(GUEST.msrResults + i * 16 + 4, 0xffffffff, true);
          dv.setUint32(GUEST.msrResults + i * 16 + 8, i % 2, true);
        });
        const obs = readCpuidResults(mem, { cpuid, msrs });
        obs.forEach((o, i) => expect(o.ebx).toBe((cpuid[i]!.function ^ 0x5a5a5a5a) >>> 0));
        readMsrResults(mem, { cpuid, msrs }).forEach((r, i) => {
          expect(r.faulted).toBe(i % 2 === 1);
          expect(r.value).toBe(i % 2 === 1 ? 0n : (0xffffffffn << 32n) | BigInt(msrs[i]!));
        });
      },
    ), { numRuns: 20 });
  });

  test("more queries than the tables hold is refused", () => {
    const mem = new Uint8Array(GUEST_MEMORY_SIZE);
    expect(() => writeProbeImage(mem, { cpuid: [], msrs: new Array(MAX_MSR_QUERIES + 1).fill(0x10) })).toThrow(InputError);
  });
});
