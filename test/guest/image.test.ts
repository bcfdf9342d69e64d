// The probe image without a device: layout, query code and result decoding.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { InputError } from "../../src/errors.ts";
import {
  CPUID_QUERY_CODE_SIZE,
  MAX_QUERY_CODE_SIZE,
  assembleGpHandler,
  assembleQueries,
  rdmsrOffsets,
} from "../../src/guest/code.ts";
import { readCpuidResults, readMsrResults, stoppedOnRdmsr, writeProbeImage } from "../../src/guest/image.ts";
import { GUEST, GUEST_MEMORY_SIZE, MAX_CPUID_QUERIES, MAX_MSR_QUERIES, RESULT_SIZE } from "../../src/guest/layout.ts";

const u32 = fc.nat({ max: 0xffffffff });
/** MSR queries with, or without (every value recorded), a random msrValueWanted flag for each. */
const msrQueries = (maxLength: number) =>
  fc
    .array(fc.tuple(u32, fc.boolean()), { maxLength })
    .chain((qs) =>
      fc.constantFrom({ msrs: qs.map(([m]) => m) }, { msrs: qs.map(([m]) => m), msrValueWanted: qs.map(([, w]) => w) }),
    );
const recorded = (q: { msrValueWanted?: readonly boolean[] }, i: number) => q.msrValueWanted?.[i] ?? true;

describe("probe layout", () => {
  test("code, tables and results at full capacity do not overlap and fit in guest memory", () => {
    const regions: [string, number, number][] = [
      ["gdt", GUEST.gdt, 24],
      ["idt", GUEST.idt, 14 * 16],
      ["gpHandler", GUEST.gpHandler, assembleGpHandler().byteLength],
      ["pml4", GUEST.pml4, 4096],
      ["pdpt", GUEST.pdpt, 4096],
      ["pd", GUEST.pd, 4096],
      ["cpuidResults", GUEST.cpuidResults, MAX_CPUID_QUERIES * RESULT_SIZE],
      ["msrResults", GUEST.msrResults, MAX_MSR_QUERIES * RESULT_SIZE],
      ["code", GUEST.code, MAX_QUERY_CODE_SIZE],
      ["faultMap", GUEST.faultMap, MAX_QUERY_CODE_SIZE],
    ];
    expect(GUEST.gpHandler + assembleGpHandler().byteLength).toBeLessThan(GUEST.stackTop - 0x1000);
    const full = assembleQueries({
      cpuid: new Array(MAX_CPUID_QUERIES).fill({ function: 0, index: 0 }),
      msrs: new Array(MAX_MSR_QUERIES).fill(0),
    });
    expect(full.byteLength).toBe(MAX_QUERY_CODE_SIZE);
    const sorted = regions.sort((a, b) => a[1] - b[1]);
    sorted.forEach(([name, start, size], i) => {
      const next = sorted[i + 1];
      if (next)
        expect(`${name} ends ${start + size <= next[1] ? "before" : "after"} ${next[0]}`).toBe(
          `${name} ends before ${next[0]}`,
        );
      expect(start + size).toBeLessThanOrEqual(GUEST_MEMORY_SIZE);
    });
  });

  test("the #GP handler flags the fault at the RDMSR's place in the fault map and skips exactly the 2-byte RDMSR", () => {
    const handler = assembleGpHandler();
    const dv = new DataView(handler.buffer);
    expect([...handler.subarray(4, 10)]).toEqual([0x48, 0x8b, 0x04, 0x24, 0xc6, 0x80]); // mov rax, [rsp]; mov byte [rax+disp32], ...
    expect([dv.getUint32(10, true), handler[14]]).toEqual([GUEST.faultMap - GUEST.code, 1]);
    expect([...handler.subarray(15, 20)]).toEqual([0x48, 0x83, 0x04, 0x24, 0x02]); // add qword [rsp], 2
  });

  test("the query code carries every query: leaf, subleaf and MSR index as immediates, one RDMSR per MSR", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ function: u32, index: u32 }), { maxLength: 40 }),
        msrQueries(40),
        (cpuid, msrQuery) => {
          const q = { cpuid, ...msrQuery };
          const msrs = q.msrs;
          const mem = new Uint8Array(GUEST_MEMORY_SIZE);
          writeProbeImage(mem, q);
          const dv = new DataView(mem.buffer);
          cpuid.forEach((c, i) => {
            const at = GUEST.code + 5 + i * CPUID_QUERY_CODE_SIZE;
            expect([mem[at], dv.getUint32(at + 1, true), mem[at + 5], dv.getUint32(at + 6, true)]).toEqual([
              0xb8,
              c.function,
              0xb9,
              c.index,
            ]);
            expect([mem[at + 10], mem[at + 11]]).toEqual([0x0f, 0xa2]);
          });
          const rdmsrAt = rdmsrOffsets(q);
          msrs.forEach((m, i) => {
            const rdmsr = GUEST.code + rdmsrAt[i]!;
            expect(stoppedOnRdmsr(mem, BigInt(rdmsr))).toBe(true);
            expect([mem[rdmsr - 5], dv.getUint32(rdmsr - 4, true)]).toEqual([0xb9, m]); // mov ecx, index
            if (recorded(q, i))
              expect([dv.getUint32(rdmsr + 4, true), dv.getUint32(rdmsr + 10, true)]).toEqual([
                i * RESULT_SIZE,
                i * RESULT_SIZE + 4,
              ]); // its result slot
            else expect(mem[rdmsr + 2]).not.toBe(0x89); // no store: the next query's mov ecx, or the end
          });
          expect(stoppedOnRdmsr(mem, BigInt(GUEST.code))).toBe(false);
        },
      ),
      { numRuns: 20 },
    );
  });

  test("the query code is exactly the straight-line encoding, byte for byte (a reference encoder written out here)", () => {
    const le = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
    const store = (reg: number, disp: number) => [0x89, 0x80 | (reg << 3) | 7, ...le(disp)]; // mov [rdi+disp32], reg32
    const reference = (cpuid: { function: number; index: number }[], msrs: number[], wanted?: boolean[]) => [
      0xbf,
      ...le(GUEST.cpuidResults), // mov edi, cpuidResults
      ...cpuid.flatMap((c, i) => [
        0xb8,
        ...le(c.function),
        0xb9,
        ...le(c.index),
        0x0f,
        0xa2,
        ...[0, 3, 1, 2].flatMap((reg, k) => store(reg, i * 16 + 4 * k)),
      ]),
      0xbf,
      ...le(GUEST.msrResults), // mov edi, msrResults
      ...msrs.flatMap((m, i) => [
        0xb9,
        ...le(m),
        0x0f,
        0x32,
        ...((wanted?.[i] ?? true) ? [...store(0, i * 16), ...store(2, i * 16 + 4)] : []),
      ]),
      0x66,
      0xba,
      0x10,
      0x00,
      0xee,
      0xf4,
      0xeb,
      0xfd, // mov dx, DONE_PORT; out dx, al; hlt; jmp hlt
    ];
    fc.assert(
      fc.property(
        fc.array(fc.record({ function: u32, index: u32 }), { maxLength: 30 }),
        msrQueries(30),
        (cpuid, msrQuery) =>
          expect([...assembleQueries({ cpuid, ...msrQuery })]).toEqual(
            reference(cpuid, msrQuery.msrs, msrQuery.msrValueWanted),
          ),
      ),
      { numRuns: 50 },
    );
  });

  test("results decode per query", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ function: u32, index: u32 }), { maxLength: 40 }),
        msrQueries(40),
        (cpuid, msrQuery) => {
          const q = { cpuid, ...msrQuery };
          const msrs = q.msrs;
          const mem = new Uint8Array(GUEST_MEMORY_SIZE);
          writeProbeImage(mem, q);
          const dv = new DataView(mem.buffer);
          const regs = (c: { function: number; index: number }) =>
            [c.index, c.function ^ 0x5a5a5a5a, ~c.index, c.function + 7].map((v) => v >>> 0);
          cpuid.forEach((c, i) =>
            regs(c).forEach((v, r) => dv.setUint32(GUEST.cpuidResults + i * 16 + r * 4, v, true)),
          );
          const rdmsrAt = rdmsrOffsets(q);
          msrs.forEach((m, i) => {
            dv.setUint32(GUEST.msrResults + i * 16, m, true);
            dv.setUint32(GUEST.msrResults + i * 16 + 4, 0xffffffff, true);
            mem[GUEST.faultMap + rdmsrAt[i]!] = i % 2;
          });
          const obs = readCpuidResults(mem, q);
          obs.forEach((o, i) => {
            const c = cpuid[i]!;
            const [eax, ebx, ecx, edx] = regs(c);
            expect(o).toEqual({ function: c.function, index: c.index, eax, ebx, ecx, edx } as typeof o);
          });
          readMsrResults(mem, q).forEach((r, i) => {
            expect(r.faulted).toBe(i % 2 === 1);
            // a value only where the query recorded one and did not fault
            expect(r.value).toBe(i % 2 === 1 || !recorded(q, i) ? undefined : (0xffffffffn << 32n) | BigInt(msrs[i]!));
          });
        },
      ),
      { numRuns: 20 },
    );
  });

  test("more queries than the tables hold is refused", () => {
    const mem = new Uint8Array(GUEST_MEMORY_SIZE);
    expect(() => writeProbeImage(mem, { cpuid: [], msrs: new Array(MAX_MSR_QUERIES + 1).fill(0x10) })).toThrow(
      InputError,
    );
  });

  test("msrValueWanted must have one flag per MSR query", () => {
    const mem = new Uint8Array(GUEST_MEMORY_SIZE);
    expect(() => writeProbeImage(mem, { cpuid: [], msrs: [0x10, 0x1b], msrValueWanted: [true] })).toThrow(
      /1 msrValueWanted flags for 2 MSR queries/,
    );
  });
});
