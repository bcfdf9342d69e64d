// The DataView encoders and decoders src/kvm/layout.ts had before it used typed-array views: the reference its
// faster code is checked against byte for byte (layout.test.ts). Field offsets come from the same layout constants.
import type { CpuidEntry } from "../../src/model/cpuid.ts";
import {
  CPUID2,
  CPUID_ENTRY2,
  DTABLE,
  ENABLE_CAP,
  ITIMERSPEC,
  MEMORY_REGION,
  MSR_ENTRY,
  MSR_FILTER,
  MSR_FILTER_MAX_RANGES,
  MSR_FILTER_RANGE,
  MSR_LIST,
  MSRS,
  REGS,
  REGS_FIELDS,
  SEGMENT,
  SEGMENT_BYTE_FIELDS,
  SIGEV_THREAD_ID,
  SIGEVENT,
  SIGSET,
  SREGS,
  SREGS_CONTROL,
  SREGS_DTABLES,
  SREGS_SEGMENTS,
  TIMESPEC,
  bitmapBytes,
  type KvmRegs,
  type KvmSegment,
  type KvmSregs,
  type MemoryRegion,
  type MsrFilter,
  type MsrValue,
} from "../../src/kvm/layout.ts";

export function refEncodeCpuid2(entries: readonly CpuidEntry[], capacity = entries.length): Uint8Array {
  const buf = new Uint8Array(CPUID2.header + capacity * CPUID_ENTRY2.size);
  const dv = new DataView(buf.buffer);
  dv.setUint32(CPUID2.nent, capacity, true);
  entries.forEach((e, i) => {
    const o = CPUID2.entries + i * CPUID_ENTRY2.size;
    dv.setUint32(o + CPUID_ENTRY2.function, e.function >>> 0, true);
    dv.setUint32(o + CPUID_ENTRY2.index, e.index >>> 0, true);
    dv.setUint32(o + CPUID_ENTRY2.flags, e.flags >>> 0, true);
    dv.setUint32(o + CPUID_ENTRY2.eax, e.eax >>> 0, true);
    dv.setUint32(o + CPUID_ENTRY2.ebx, e.ebx >>> 0, true);
    dv.setUint32(o + CPUID_ENTRY2.ecx, e.ecx >>> 0, true);
    dv.setUint32(o + CPUID_ENTRY2.edx, e.edx >>> 0, true);
  });
  return buf;
}

export function refDecodeCpuid2(buf: Uint8Array): CpuidEntry[] {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf.byteLength < CPUID2.header) throw new RangeError("kvm_cpuid2: shorter than its header");
  const nent = dv.getUint32(CPUID2.nent, true);
  if (CPUID2.header + nent * CPUID_ENTRY2.size > buf.byteLength)
    throw new RangeError(`kvm_cpuid2: nent ${nent} exceeds the buffer`);
  const out: CpuidEntry[] = [];
  for (let i = 0; i < nent; i++) {
    const o = CPUID2.entries + i * CPUID_ENTRY2.size;
    out.push({
      function: dv.getUint32(o + CPUID_ENTRY2.function, true),
      index: dv.getUint32(o + CPUID_ENTRY2.index, true),
      flags: dv.getUint32(o + CPUID_ENTRY2.flags, true),
      eax: dv.getUint32(o + CPUID_ENTRY2.eax, true),
      ebx: dv.getUint32(o + CPUID_ENTRY2.ebx, true),
      ecx: dv.getUint32(o + CPUID_ENTRY2.ecx, true),
      edx: dv.getUint32(o + CPUID_ENTRY2.edx, true),
    });
  }
  return out;
}

export function refEncodeMsrs(entries: readonly MsrValue[]): Uint8Array {
  const buf = new Uint8Array(MSRS.header + entries.length * MSR_ENTRY.size);
  const dv = new DataView(buf.buffer);
  dv.setUint32(MSRS.nmsrs, entries.length, true);
  entries.forEach((m, i) => {
    const o = MSRS.entries + i * MSR_ENTRY.size;
    dv.setUint32(o + MSR_ENTRY.index, m.index >>> 0, true);
    dv.setBigUint64(o + MSR_ENTRY.data, BigInt.asUintN(64, m.value), true);
  });
  return buf;
}

export function refDecodeMsrs(buf: Uint8Array, count?: number): MsrValue[] {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = count ?? dv.getUint32(MSRS.nmsrs, true);
  if (MSRS.header + n * MSR_ENTRY.size > buf.byteLength)
    throw new RangeError(`kvm_msrs: nmsrs ${n} exceeds the buffer`);
  const out: MsrValue[] = [];
  for (let i = 0; i < n; i++) {
    const o = MSRS.entries + i * MSR_ENTRY.size;
    out.push({ index: dv.getUint32(o + MSR_ENTRY.index, true), value: dv.getBigUint64(o + MSR_ENTRY.data, true) });
  }
  return out;
}

export function refDecodeMsrList(buf: Uint8Array): number[] {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = dv.getUint32(MSR_LIST.nmsrs, true);
  if (MSR_LIST.header + n * 4 > buf.byteLength) throw new RangeError(`kvm_msr_list: nmsrs ${n} exceeds the buffer`);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(dv.getUint32(MSR_LIST.indices + i * 4, true));
  return out;
}

export function refEncodeMsrFilter(
  filter: MsrFilter,
  pointerOf?: (bitmap: Uint8Array, offset: number) => bigint,
): Uint8Array {
  if (filter.ranges.length > MSR_FILTER_MAX_RANGES)
    throw new RangeError(`kvm_msr_filter: ${filter.ranges.length} ranges, at most ${MSR_FILTER_MAX_RANGES}`);
  const total = MSR_FILTER.size + filter.ranges.reduce((s, r) => s + bitmapBytes(r.nmsrs), 0);
  const buf = new Uint8Array(total);
  const dv = new DataView(buf.buffer);
  dv.setUint32(MSR_FILTER.flags, filter.flags, true);
  let offset = MSR_FILTER.size;
  filter.ranges.forEach((r, i) => {
    const o = MSR_FILTER.ranges + i * MSR_FILTER_RANGE.size;
    dv.setUint32(o + MSR_FILTER_RANGE.flags, r.flags, true);
    dv.setUint32(o + MSR_FILTER_RANGE.nmsrs, r.nmsrs, true);
    dv.setUint32(o + MSR_FILTER_RANGE.base, r.base >>> 0, true);
    const len = bitmapBytes(r.nmsrs);
    buf.set(r.bitmap.subarray(0, len), offset);
    dv.setBigUint64(o + MSR_FILTER_RANGE.bitmap, pointerOf ? pointerOf(r.bitmap, offset) : BigInt(offset), true);
    offset += len;
  });
  return buf;
}

export function refEncodeRegs(regs: KvmRegs): Uint8Array {
  const buf = new Uint8Array(REGS.size);
  const dv = new DataView(buf.buffer);
  REGS_FIELDS.forEach((f, i) => dv.setBigUint64(i * REGS.field, BigInt.asUintN(64, regs[f]), true));
  return buf;
}

export function refDecodeRegs(buf: Uint8Array): KvmRegs {
  if (buf.byteLength < REGS.size) throw new RangeError("kvm_regs: shorter than 144 bytes");
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return Object.fromEntries(REGS_FIELDS.map((f, i) => [f, dv.getBigUint64(i * REGS.field, true)])) as KvmRegs;
}

function refWriteSegment(dv: DataView, o: number, s: KvmSegment): void {
  dv.setBigUint64(o + SEGMENT.base, BigInt.asUintN(64, s.base), true);
  dv.setUint32(o + SEGMENT.limit, s.limit >>> 0, true);
  dv.setUint16(o + SEGMENT.selector, s.selector & 0xffff, true);
  SEGMENT_BYTE_FIELDS.forEach((f, i) => dv.setUint8(o + SEGMENT.type + i, s[f] & 0xff));
}

function refReadSegment(dv: DataView, o: number): KvmSegment {
  const seg = {
    base: dv.getBigUint64(o + SEGMENT.base, true),
    limit: dv.getUint32(o + SEGMENT.limit, true),
    selector: dv.getUint16(o + SEGMENT.selector, true),
  } as KvmSegment;
  SEGMENT_BYTE_FIELDS.forEach((f, i) => (seg[f] = dv.getUint8(o + SEGMENT.type + i)));
  return seg;
}

export function refEncodeSregs(s: KvmSregs): Uint8Array {
  const buf = new Uint8Array(SREGS.size);
  const dv = new DataView(buf.buffer);
  SREGS_SEGMENTS.forEach((k, i) => refWriteSegment(dv, SREGS.segments + i * SEGMENT.size, s[k]));
  SREGS_DTABLES.forEach((k, i) => {
    const o = SREGS.dtables + i * DTABLE.size;
    dv.setBigUint64(o + DTABLE.base, BigInt.asUintN(64, s[k].base), true);
    dv.setUint16(o + DTABLE.limit, s[k].limit & 0xffff, true);
  });
  SREGS_CONTROL.forEach((k, i) => dv.setBigUint64(SREGS.control + i * 8, BigInt.asUintN(64, s[k]), true));
  for (let i = 0; i < SREGS.interruptWords; i++) {
    dv.setBigUint64(SREGS.interruptBitmap + i * 8, BigInt.asUintN(64, s.interruptBitmap[i] ?? 0n), true);
  }
  return buf;
}

export function refDecodeSregs(buf: Uint8Array): KvmSregs {
  if (buf.byteLength < SREGS.size) throw new RangeError("kvm_sregs: shorter than 312 bytes");
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: Record<string, unknown> = {};
  SREGS_SEGMENTS.forEach((k, i) => (out[k] = refReadSegment(dv, SREGS.segments + i * SEGMENT.size)));
  SREGS_DTABLES.forEach((k, i) => {
    const o = SREGS.dtables + i * DTABLE.size;
    out[k] = { base: dv.getBigUint64(o + DTABLE.base, true), limit: dv.getUint16(o + DTABLE.limit, true) };
  });
  SREGS_CONTROL.forEach((k, i) => (out[k] = dv.getBigUint64(SREGS.control + i * 8, true)));
  out.interruptBitmap = Array.from({ length: SREGS.interruptWords }, (_, i) =>
    dv.getBigUint64(SREGS.interruptBitmap + i * 8, true),
  );
  return out as KvmSregs;
}

export function refEncodeMemoryRegion(r: MemoryRegion): Uint8Array {
  const buf = new Uint8Array(MEMORY_REGION.size);
  const dv = new DataView(buf.buffer);
  dv.setUint32(MEMORY_REGION.slot, r.slot >>> 0, true);
  dv.setUint32(MEMORY_REGION.flags, r.flags >>> 0, true);
  dv.setBigUint64(MEMORY_REGION.guestPhysAddr, r.guestPhysAddr, true);
  dv.setBigUint64(MEMORY_REGION.memorySize, r.memorySize, true);
  dv.setBigUint64(MEMORY_REGION.userspaceAddr, r.userspaceAddr, true);
  return buf;
}

export function refEncodeEnableCap(cap: number, args: readonly bigint[] = [], flags = 0): Uint8Array {
  if (args.length > ENABLE_CAP.argCount)
    throw new RangeError(`kvm_enable_cap: ${args.length} args, at most ${ENABLE_CAP.argCount}`);
  const buf = new Uint8Array(ENABLE_CAP.size);
  const dv = new DataView(buf.buffer);
  dv.setUint32(ENABLE_CAP.cap, cap >>> 0, true);
  dv.setUint32(ENABLE_CAP.flags, flags >>> 0, true);
  args.forEach((a, i) => dv.setBigUint64(ENABLE_CAP.args + i * 8, BigInt.asUintN(64, a), true));
  return buf;
}

export function refDecodeSigset(buf: Uint8Array): number[] {
  const out: number[] = [];
  for (let bit = 0; bit < Math.min(buf.byteLength, SIGSET.size) * 8; bit++)
    if (buf[bit >> 3]! & (1 << (bit & 7))) out.push(bit + 1);
  return out;
}

export function refEncodeThreadSigevent(signo: number, threadId: number): Uint8Array {
  const buf = new Uint8Array(SIGEVENT.size);
  const dv = new DataView(buf.buffer);
  dv.setInt32(SIGEVENT.signo, signo, true);
  dv.setInt32(SIGEVENT.notify, SIGEV_THREAD_ID, true);
  dv.setInt32(SIGEVENT.threadId, threadId, true);
  return buf;
}

export function refEncodeTimespec(ms: number): Uint8Array {
  const buf = new Uint8Array(TIMESPEC.size);
  refWriteTimespec(new DataView(buf.buffer), 0, ms);
  return buf;
}

export function refEncodeOneShotItimerspec(ms: number): Uint8Array {
  const buf = new Uint8Array(ITIMERSPEC.size);
  refWriteTimespec(new DataView(buf.buffer), ITIMERSPEC.value, ms);
  return buf;
}

function refWriteTimespec(dv: DataView, at: number, ms: number): void {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`time ${ms} ms out of range`);
  const ns = BigInt(Math.round(ms * 1_000_000));
  dv.setBigInt64(at + TIMESPEC.sec, ns / 1_000_000_000n, true);
  dv.setBigInt64(at + TIMESPEC.nsec, ns % 1_000_000_000n, true);
}
