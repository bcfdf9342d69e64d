// Pure writers and readers of the probe's guest memory: page tables, GDT, IDT, code, query tables, results.
import { InputError } from "../errors.ts";
import type { CpuidObservation, ProbeQueries } from "./types.ts";
import { assembleGpHandler, assembleQueries, isRdmsrAt, rdmsrOffsets, recordsMsrValue } from "./code.ts";
import { GUEST, GUEST_MEMORY_SIZE, MAX_CPUID_QUERIES, MAX_MSR_QUERIES, RESULT_SIZE, X86 } from "./layout.ts";

export interface RawMsrResult {
  index: number;
  /** What the RDMSR read; undefined when it faulted or its query does not record the value. */
  value: bigint | undefined;
  faulted: boolean;
}

const GP_HANDLER = assembleGpHandler();

/** True when the guest stopped on an RDMSR of the probe: RCX then holds the MSR's index. */
export function stoppedOnRdmsr(mem: Uint8Array, rip: bigint): boolean {
  return rip < BigInt(mem.byteLength) && isRdmsrAt(mem, Number(rip));
}

export function checkQueryCounts(q: ProbeQueries): void {
  if (q.cpuid.length > MAX_CPUID_QUERIES)
    throw new InputError(`guest probe: ${q.cpuid.length} CPUID queries, at most ${MAX_CPUID_QUERIES}`);
  if (q.msrs.length > MAX_MSR_QUERIES)
    throw new InputError(`guest probe: ${q.msrs.length} MSR queries, at most ${MAX_MSR_QUERIES}`);
  if (q.msrValueWanted !== undefined && q.msrValueWanted.length !== q.msrs.length)
    throw new InputError(
      `guest probe: ${q.msrValueWanted.length} msrValueWanted flags for ${q.msrs.length} MSR queries (one each)`,
    );
}

/** Writes the whole probe image into zeroed guest memory of GUEST_MEMORY_SIZE bytes. */
export function writeProbeImage(mem: Uint8Array, q: ProbeQueries): void {
  if (mem.byteLength < GUEST_MEMORY_SIZE) throw new RangeError(`probe image needs ${GUEST_MEMORY_SIZE} bytes`);
  checkQueryCounts(q);
  const dv = new DataView(mem.buffer, mem.byteOffset, mem.byteLength);
  const { present, write, pageSize } = X86.pte;
  // Identity map 0..2 MiB with one large page.
  dv.setBigUint64(GUEST.pml4, BigInt(GUEST.pdpt) | present | write, true);
  dv.setBigUint64(GUEST.pdpt, BigInt(GUEST.pd) | present | write, true);
  dv.setBigUint64(GUEST.pd, present | write | pageSize, true);
  // GDT: null, 64-bit code, data (IRETQ reloads CS and SS from it).
  dv.setBigUint64(GUEST.gdt, 0n, true);
  dv.setBigUint64(GUEST.gdt + X86.codeSelector, X86.gdtCode64, true);
  dv.setBigUint64(GUEST.gdt + X86.dataSelector, X86.gdtData, true);
  // IDT: only #GP, so a faulting RDMSR is recorded; anything else triple-faults into a SHUTDOWN exit.
  const handler = GUEST.gpHandler;
  const gate = GUEST.idt + X86.gpVector * X86.idtGateSize;
  dv.setUint16(gate, handler & 0xffff, true);
  dv.setUint16(gate + 2, X86.codeSelector, true);
  dv.setUint8(gate + 4, 0);
  dv.setUint8(gate + 5, X86.interruptGate);
  dv.setUint16(gate + 6, (handler >>> 16) & 0xffff, true);
  dv.setUint32(gate + 8, 0, true);
  dv.setUint32(gate + 12, 0, true);
  mem.set(GP_HANDLER, GUEST.gpHandler);
  mem.set(assembleQueries(q), GUEST.code);
}

/** IDT limit covering gates 0..#GP. */
export const IDT_LIMIT = (X86.gpVector + 1) * X86.idtGateSize - 1;
/** GDT limit covering null, code and data. */
export const GDT_LIMIT = X86.dataSelector + 8 - 1;

// The results are read through typed-array views of guest memory (little-endian, as the guest wrote them):
// the tables and their 16-byte records are 8-byte aligned, and a cold process reads each one once.

export function readCpuidResults(mem: Uint8Array, q: ProbeQueries): CpuidObservation[] {
  const words = new Uint32Array(mem.buffer, mem.byteOffset + GUEST.cpuidResults, q.cpuid.length * (RESULT_SIZE / 4));
  const out: CpuidObservation[] = [];
  for (let i = 0, w = 0; i < q.cpuid.length; i++, w += RESULT_SIZE / 4) {
    const c = q.cpuid[i]!;
    out.push({
      function: c.function >>> 0,
      index: c.index >>> 0,
      eax: words[w]!,
      ebx: words[w + 1]!,
      ecx: words[w + 2]!,
      edx: words[w + 3]!,
    });
  }
  return out;
}

export function readMsrResults(mem: Uint8Array, q: ProbeQueries): RawMsrResult[] {
  // {lo, hi} is EDX:EAX as one little-endian 64-bit value.
  const values = new BigUint64Array(mem.buffer, mem.byteOffset + GUEST.msrResults, q.msrs.length * (RESULT_SIZE / 8));
  const rdmsrAt = rdmsrOffsets(q);
  const out: RawMsrResult[] = [];
  for (let i = 0; i < q.msrs.length; i++) {
    const faulted = mem[GUEST.faultMap + rdmsrAt[i]!] !== 0;
    const value = faulted || !recordsMsrValue(q, i) ? undefined : values[i * (RESULT_SIZE / 8)]!;
    out.push({ index: q.msrs[i]! >>> 0, value, faulted });
  }
  return out;
}
