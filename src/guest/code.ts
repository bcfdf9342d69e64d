// The probe's 64-bit guest code, assembled here byte by byte (there is no assembler at runtime).
// Straight-line code made for each probe: every query is its own few instructions with its leaf,
// subleaf or MSR index and its result address as immediates. A guest on an emulating hypervisor
// (kvm_pvm here) pays about a microsecond per instruction executed, so a table-driven loop of 13-14
// instructions per query cost 3-4x what this costs (7 per CPUID, 5 per RDMSR).
import { DONE_PORT, GUEST, MAX_CPUID_QUERIES, MAX_MSR_QUERIES, RESULT_SIZE } from "./layout.ts";
import type { ProbeQueries } from "./types.ts";

/** x86 encodings used below; ModRM 0x80|reg<<3|7 is [rdi+disp32], 0x40|reg<<3|7 is [rdi+disp8]. */
const OP = {
  movEaxImm: 0xb8,
  movEcxImm: 0xb9,
  movEdiImm: 0xbf,
  cpuid: [0x0f, 0xa2],
  rdmsr: [0x0f, 0x32],
  outImm8Al: 0xe6,
  movDxImm16: [0x66, 0xba],
  outDxAl: 0xee,
  hlt: 0xf4,
  jmpRel8: 0xeb,
} as const;
/** Register numbers in ModRM.reg. */
const REG = { eax: 0, ecx: 1, edx: 2, ebx: 3 } as const;

function le32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}

/** mov [rdi+disp32], reg32 */
function storeRdi(reg: number, disp: number): number[] {
  return [0x89, 0x80 | (reg << 3) | 7, ...le32(disp)];
}

/** Bytes of one CPUID query: mov eax, leaf; mov ecx, subleaf; cpuid; four stores (rdi = cpuidResults). */
export const CPUID_QUERY_CODE_SIZE = 5 + 5 + 2 + 4 * 6;
/** Bytes of one MSR query: mov ecx, index; mov edi, result; rdmsr; mov [rdi], eax; mov [rdi+4], edx. */
export const MSR_QUERY_CODE_SIZE = 5 + 5 + 2 + 2 + 3;
/** Offset of the RDMSR within an MSR query's code. */
const RDMSR_IN_QUERY = 10;
/** Set-up and end: mov edi, cpuidResults; mov dx, port; out; hlt; jmp. */
const FRAME_SIZE = 5 + 4 + 1 + 1 + 2;
/** Most bytes the query code can take, for the layout check. */
export const MAX_QUERY_CODE_SIZE = FRAME_SIZE + MAX_CPUID_QUERIES * CPUID_QUERY_CODE_SIZE + MAX_MSR_QUERIES * MSR_QUERY_CODE_SIZE;

/** The straight-line query code, loaded at GUEST.code; it ends with `out DONE_PORT; hlt`. */
export function assembleQueries(q: ProbeQueries): Uint8Array {
  const out = new Uint8Array(FRAME_SIZE + q.cpuid.length * CPUID_QUERY_CODE_SIZE + q.msrs.length * MSR_QUERY_CODE_SIZE);
  let at = 0;
  const emit = (bytes: readonly number[]) => {
    out.set(bytes, at);
    at += bytes.length;
  };
  emit([OP.movEdiImm, ...le32(GUEST.cpuidResults)]);
  q.cpuid.forEach((c, i) => {
    const o = i * RESULT_SIZE;
    emit([OP.movEaxImm, ...le32(c.function >>> 0), OP.movEcxImm, ...le32(c.index >>> 0), ...OP.cpuid]);
    emit([...storeRdi(REG.eax, o), ...storeRdi(REG.ebx, o + 4), ...storeRdi(REG.ecx, o + 8), ...storeRdi(REG.edx, o + 12)]);
  });
  // The #GP handler flags a faulting RDMSR at [rdi+8]; a slot it never touches stays 0 (fresh memory).
  q.msrs.forEach((m, i) => {
    emit([OP.movEcxImm, ...le32(m >>> 0), OP.movEdiImm, ...le32(GUEST.msrResults + i * RESULT_SIZE), ...OP.rdmsr]);
    emit([0x89, 0x07, 0x89, 0x40 | (REG.edx << 3) | 7, 0x04]);
  });
  emit([...OP.movDxImm16, DONE_PORT & 0xff, DONE_PORT >>> 8, OP.outDxAl, OP.hlt, OP.jmpRel8, 0xfd]); // hlt; jmp hlt
  return out;
}

/** Where each MSR query's RDMSR sits, from GUEST.code; for tests and diagnostics. */
export function rdmsrOffsetOf(q: ProbeQueries, msrQuery: number): number {
  return 5 + q.cpuid.length * CPUID_QUERY_CODE_SIZE + msrQuery * MSR_QUERY_CODE_SIZE + RDMSR_IN_QUERY;
}

/**
 * #GP handler, loaded at GUEST.gpHandler: drop the error code, step over the 2-byte RDMSR, and flag
 * the fault in the query's result slot (rdi points at it).
 */
export function assembleGpHandler(): Uint8Array {
  return Uint8Array.from([
    0x48, 0x83, 0xc4, 0x08, //                 add rsp, 8
    0x48, 0x83, 0x04, 0x24, 0x02, //           add qword [rsp], 2
    0xc7, 0x47, 0x08, ...le32(1), //           mov dword [rdi+8], 1
    0x48, 0xcf, //                             iretq
  ]);
}

/** True when the bytes at `offset` are an RDMSR: a stop there names the MSR in RCX. */
export function isRdmsrAt(mem: Uint8Array, offset: number): boolean {
  return offset >= 0 && offset + 1 < mem.byteLength && mem[offset] === OP.rdmsr[0] && mem[offset + 1] === OP.rdmsr[1];
}
