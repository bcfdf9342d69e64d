// The probe's 64-bit guest code, assembled here byte by byte (there is no assembler at runtime).
// Straight-line code made for each probe: every query is its own few instructions with its leaf,
// subleaf or MSR index and its result address as immediates. A guest on an emulating hypervisor
// (kvm_pvm here) pays about a microsecond per instruction executed, so a table-driven loop of 13-14
// instructions per query cost 3x what this costs (7 per CPUID, 4 per RDMSR, 2 where its value is not wanted).
// Everything runs at CPL0. CPUID at CPL3 would run natively under kvm_pvm (~2 µs less per query), but
// kvm_pvm does not intercept it there: it returned the host's own leaves (this CPU's APIC ID, x2apic and
// the KVM PV features the table hid), not the table KVM_SET_CPUID2 installed.
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

/** Bytes of one CPUID query: mov eax, leaf; mov ecx, subleaf; cpuid; four stores (rdi = cpuidResults). */
export const CPUID_QUERY_CODE_SIZE = 5 + 5 + 2 + 4 * 6;
/** Bytes of one MSR query: mov ecx, index; rdmsr; mov [rdi+o], eax; mov [rdi+o+4], edx (rdi = msrResults). */
export const MSR_QUERY_CODE_SIZE = 5 + 2 + 6 + 6;
/** Bytes of one MSR query whose value is not wanted: mov ecx, index; rdmsr (a fault still shows in the fault map). */
export const MSR_CHECK_CODE_SIZE = 5 + 2;
/** Offset of the RDMSR within an MSR query's code (either kind). */
const RDMSR_IN_QUERY = 5;
/** Set-up and end: mov edi, cpuidResults; mov edi, msrResults; mov dx, port; out; hlt; jmp. */
const FRAME_SIZE = 5 + 5 + 4 + 1 + 1 + 2;
/** Most bytes the query code can take, for the layout check. */
export const MAX_QUERY_CODE_SIZE =
  FRAME_SIZE + MAX_CPUID_QUERIES * CPUID_QUERY_CODE_SIZE + MAX_MSR_QUERIES * MSR_QUERY_CODE_SIZE;

/**
 * One query's code with zero immediates, and where its immediates go: the probe copies the template and
 * writes the immediates, 7 (CPUID) or 4 (MSR) DataView stores per query instead of 36 or 19 byte writes
 * (the query code is rebuilt for every probe, and a cold process runs it in the interpreter).
 */
interface QueryTemplate {
  bytes: Uint8Array;
  /** Byte offsets of the 32-bit immediates, in the order the query fills them. */
  imm32At: readonly number[];
}

function template(
  build: (op: (b: number) => void, imm32: () => void, store: (reg: number) => void) => void,
): QueryTemplate {
  const bytes: number[] = [];
  const imm32At: number[] = [];
  const op = (b: number) => void bytes.push(b);
  const imm32 = () => {
    imm32At.push(bytes.length);
    bytes.push(0, 0, 0, 0);
  };
  /** mov [rdi+disp32], reg32 */
  const store = (reg: number) => {
    op(0x89);
    op(0x80 | (reg << 3) | 7);
    imm32();
  };
  build(op, imm32, store);
  return { bytes: new Uint8Array(bytes), imm32At };
}

/** mov eax, leaf; mov ecx, subleaf; cpuid; mov [rdi+o], eax/ebx/ecx/edx. Immediates: leaf, subleaf, o, o+4, o+8, o+12. */
const CPUID_QUERY = template((op, imm32, store) => {
  op(OP.movEaxImm), imm32();
  op(OP.movEcxImm), imm32();
  op(OP.cpuid[0]), op(OP.cpuid[1]);
  store(REG.eax), store(REG.ebx), store(REG.ecx), store(REG.edx);
});
/** mov ecx, index; rdmsr; mov [rdi+o], eax; mov [rdi+o+4], edx. Immediates: index, o, o+4. */
const MSR_QUERY = template((op, imm32, store) => {
  op(OP.movEcxImm), imm32();
  op(OP.rdmsr[0]), op(OP.rdmsr[1]);
  store(REG.eax), store(REG.edx);
});
/** mov ecx, index; rdmsr. Immediate: index. */
const MSR_CHECK = template((op, imm32) => {
  op(OP.movEcxImm), imm32();
  op(OP.rdmsr[0]), op(OP.rdmsr[1]);
});
const DONE = new Uint8Array([
  ...OP.movDxImm16,
  DONE_PORT & 0xff,
  DONE_PORT >>> 8,
  OP.outDxAl,
  OP.hlt,
  OP.jmpRel8,
  0xfd,
]); // hlt; jmp hlt

/** The straight-line query code, loaded at GUEST.code; it ends with `out DONE_PORT; hlt`. */
export function assembleQueries(q: ProbeQueries): Uint8Array {
  const rdmsrAt = rdmsrOffsets(q);
  const out = new Uint8Array(rdmsrAt[q.msrs.length]! - RDMSR_IN_QUERY + DONE.byteLength);
  const dv = new DataView(out.buffer);
  let at = 0;
  const movEdi = (address: number) => {
    out[at] = OP.movEdiImm;
    dv.setUint32(at + 1, address, true);
    at += 5;
  };
  const [cLeaf, cSubleaf, cEax, cEbx, cEcx, cEdx] = CPUID_QUERY.imm32At as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  movEdi(GUEST.cpuidResults);
  for (let i = 0; i < q.cpuid.length; i++) {
    const c = q.cpuid[i]!,
      o = i * RESULT_SIZE;
    out.set(CPUID_QUERY.bytes, at);
    dv.setUint32(at + cLeaf, c.function >>> 0, true);
    dv.setUint32(at + cSubleaf, c.index >>> 0, true);
    dv.setUint32(at + cEax, o, true);
    dv.setUint32(at + cEbx, o + 4, true);
    dv.setUint32(at + cEcx, o + 8, true);
    dv.setUint32(at + cEdx, o + 12, true);
    at += CPUID_QUERY_CODE_SIZE;
  }
  // The #GP handler flags a faulting RDMSR in the fault map, at the RDMSR's offset (fresh memory is 0).
  // A query whose value is not wanted is only its RDMSR; its result slot stays unwritten.
  const [mIndex, mEax, mEdx] = MSR_QUERY.imm32At as [number, number, number];
  const [cIndex] = MSR_CHECK.imm32At as [number];
  movEdi(GUEST.msrResults);
  for (let i = 0; i < q.msrs.length; i++) {
    at = rdmsrAt[i]! - RDMSR_IN_QUERY;
    if (!recordsMsrValue(q, i)) {
      out.set(MSR_CHECK.bytes, at);
      dv.setUint32(at + cIndex, q.msrs[i]! >>> 0, true);
      continue;
    }
    const o = i * RESULT_SIZE;
    out.set(MSR_QUERY.bytes, at);
    dv.setUint32(at + mIndex, q.msrs[i]! >>> 0, true);
    dv.setUint32(at + mEax, o, true);
    dv.setUint32(at + mEdx, o + 4, true);
  }
  out.set(DONE, rdmsrAt[q.msrs.length]! - RDMSR_IN_QUERY);
  return out;
}

/** Whether MSR query `i` stores the value it reads (each does when the queries do not say). */
export function recordsMsrValue(q: ProbeQueries, i: number): boolean {
  return q.msrValueWanted === undefined || q.msrValueWanted[i] === true;
}

/**
 * Where each MSR query's RDMSR sits, from GUEST.code: its fault flag is at GUEST.faultMap plus this. One entry
 * more, past the last query, where the end of the code starts (minus RDMSR_IN_QUERY).
 */
export function rdmsrOffsets(q: ProbeQueries): Uint32Array {
  const out = new Uint32Array(q.msrs.length + 1);
  // after the CPUID queries and the two `mov edi`
  let at = 5 + q.cpuid.length * CPUID_QUERY_CODE_SIZE + 5 + RDMSR_IN_QUERY;
  for (let i = 0; i < q.msrs.length; i++) {
    out[i] = at;
    at += recordsMsrValue(q, i) ? MSR_QUERY_CODE_SIZE : MSR_CHECK_CODE_SIZE;
  }
  out[q.msrs.length] = at;
  return out;
}

/**
 * #GP handler, loaded at GUEST.gpHandler: drop the error code, flag the fault at the faulting RIP's
 * place in the fault map (GUEST.faultMap - GUEST.code past it), and step over the 2-byte RDMSR.
 */
export function assembleGpHandler(): Uint8Array {
  return new Uint8Array([
    0x48,
    0x83,
    0xc4,
    0x08, //                 add rsp, 8
    0x48,
    0x8b,
    0x04,
    0x24, //                 mov rax, [rsp]
    0xc6,
    0x80,
    ...le32(GUEST.faultMap - GUEST.code),
    0x01, // mov byte [rax + (faultMap - code)], 1
    0x48,
    0x83,
    0x04,
    0x24,
    0x02, //           add qword [rsp], 2
    0x48,
    0xcf, //                             iretq
  ]);
}

/** True when the bytes at `offset` are an RDMSR: a stop there names the MSR in RCX. */
export function isRdmsrAt(mem: Uint8Array, offset: number): boolean {
  return offset >= 0 && offset + 1 < mem.byteLength && mem[offset] === OP.rdmsr[0] && mem[offset + 1] === OP.rdmsr[1];
}
