// Struct layouts of the KVM uapi (x86_64, little-endian), each field with its byte offset.
// Pure encoders/decoders over bytes: no FFI here, so formats/ can write the same structs a VMM passes to KVM.
import type { CpuidEntry } from "../model/cpuid.ts";

/** struct kvm_cpuid_entry2 (40 bytes). */
export const CPUID_ENTRY2 = {
  size: 40,
  function: 0,
  index: 4,
  flags: 8,
  eax: 12,
  ebx: 16,
  ecx: 20,
  edx: 24,
  /** padding u32[3] @28 */
  padding: 28,
} as const;

/** struct kvm_cpuid2 (8 + n*40): nent u32 @0, padding u32 @4, entries @8. */
export const CPUID2 = { header: 8, nent: 0, padding: 4, entries: 8 } as const;

/** KVM refuses more than this many entries in KVM_SET_CPUID2. */
export const KVM_MAX_CPUID_ENTRIES = 256;

export function encodeCpuid2(entries: readonly CpuidEntry[], capacity = entries.length): Uint8Array {
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

export function decodeCpuid2(buf: Uint8Array): CpuidEntry[] {
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

/** struct kvm_msr_entry (16): index u32 @0, reserved u32 @4, data u64 @8. */
export const MSR_ENTRY = { size: 16, index: 0, reserved: 4, data: 8 } as const;
/** struct kvm_msrs (8 + n*16): nmsrs u32 @0, pad u32 @4, entries @8. */
export const MSRS = { header: 8, nmsrs: 0, pad: 4, entries: 8 } as const;

export interface MsrValue {
  index: number;
  value: bigint;
}

export function encodeMsrs(entries: readonly MsrValue[]): Uint8Array {
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

export function decodeMsrs(buf: Uint8Array, count?: number): MsrValue[] {
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

/** struct kvm_msr_list (4 + n*4): nmsrs u32 @0, indices u32[] @4. */
export const MSR_LIST = { header: 4, nmsrs: 0, indices: 4 } as const;

export function decodeMsrList(buf: Uint8Array): number[] {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = dv.getUint32(MSR_LIST.nmsrs, true);
  if (MSR_LIST.header + n * 4 > buf.byteLength) throw new RangeError(`kvm_msr_list: nmsrs ${n} exceeds the buffer`);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(dv.getUint32(MSR_LIST.indices + i * 4, true));
  return out;
}

// ---- MSR filter ----

export const MSR_FILTER_DEFAULT_ALLOW = 0;
export const MSR_FILTER_DEFAULT_DENY = 1;
export const MSR_FILTER_READ = 1;
export const MSR_FILTER_WRITE = 2;
export const MSR_FILTER_MAX_RANGES = 16;
/** KVM_MSR_FILTER_MAX_BITMAP_SIZE: so at most 0x3000 MSRs per range. */
export const MSR_FILTER_MAX_BITMAP_BYTES = 0x600;
export const MSR_FILTER_MAX_RANGE_MSRS = MSR_FILTER_MAX_BITMAP_BYTES * 8;

/** struct kvm_msr_filter (392): flags u32 @0, (pad 4), ranges[16] @8, 24 bytes each. */
export const MSR_FILTER = { size: 392, flags: 0, ranges: 8 } as const;
/** struct kvm_msr_filter_range (24): flags u32 @0, nmsrs u32 @4, base u32 @8, (pad 4), bitmap pointer u64 @16. */
export const MSR_FILTER_RANGE = { size: 24, flags: 0, nmsrs: 4, base: 8, bitmap: 16 } as const;

export interface MsrFilterRange {
  /** MSR_FILTER_READ | MSR_FILTER_WRITE */
  flags: number;
  base: number;
  nmsrs: number;
  /** bit (msr - base): 1 = allow, 0 = deny; ceil(nmsrs/64)*8 bytes. */
  bitmap: Uint8Array;
}

export interface MsrFilter {
  flags: number;
  ranges: MsrFilterRange[];
}

/** Bytes KVM copies for a range's bitmap. */
export function bitmapBytes(nmsrs: number): number {
  return Math.ceil(nmsrs / 64) * 8;
}

/**
 * struct kvm_msr_filter followed by every range's bitmap, for a VMM to load from a file.
 * Each range's `bitmap` field holds the bitmap's byte offset from the start of the file
 * (a VMM adds the buffer's address before the ioctl). `pointerOf`, when given, writes real pointers instead.
 */
export function encodeMsrFilter(
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

/** Inverse of encodeMsrFilter (offsets form). */
export function decodeMsrFilter(buf: Uint8Array): MsrFilter {
  if (buf.byteLength < MSR_FILTER.size) throw new RangeError("kvm_msr_filter: shorter than 392 bytes");
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const ranges: MsrFilterRange[] = [];
  for (let i = 0; i < MSR_FILTER_MAX_RANGES; i++) {
    const o = MSR_FILTER.ranges + i * MSR_FILTER_RANGE.size;
    const nmsrs = dv.getUint32(o + MSR_FILTER_RANGE.nmsrs, true);
    if (nmsrs === 0) continue;
    const off = Number(dv.getBigUint64(o + MSR_FILTER_RANGE.bitmap, true));
    const len = bitmapBytes(nmsrs);
    if (off + len > buf.byteLength) throw new RangeError(`kvm_msr_filter: range ${i} bitmap outside the buffer`);
    ranges.push({
      flags: dv.getUint32(o + MSR_FILTER_RANGE.flags, true),
      base: dv.getUint32(o + MSR_FILTER_RANGE.base, true),
      nmsrs,
      bitmap: buf.slice(off, off + len),
    });
  }
  return { flags: dv.getUint32(MSR_FILTER.flags, true), ranges };
}

// ---- vCPU registers ----

/** struct kvm_regs (144): 18 u64 fields in this order. */
export const REGS_FIELDS = [
  "rax",
  "rbx",
  "rcx",
  "rdx",
  "rsi",
  "rdi",
  "rsp",
  "rbp",
  "r8",
  "r9",
  "r10",
  "r11",
  "r12",
  "r13",
  "r14",
  "r15",
  "rip",
  "rflags",
] as const;
export type RegName = (typeof REGS_FIELDS)[number];
export type KvmRegs = Record<RegName, bigint>;
export const REGS = { size: 144, field: 8 } as const;

export function emptyRegs(): KvmRegs {
  return Object.fromEntries(REGS_FIELDS.map((f) => [f, 0n])) as KvmRegs;
}

export function encodeRegs(regs: KvmRegs): Uint8Array {
  const buf = new Uint8Array(REGS.size);
  const dv = new DataView(buf.buffer);
  REGS_FIELDS.forEach((f, i) => dv.setBigUint64(i * REGS.field, BigInt.asUintN(64, regs[f]), true));
  return buf;
}

export function decodeRegs(buf: Uint8Array): KvmRegs {
  if (buf.byteLength < REGS.size) throw new RangeError("kvm_regs: shorter than 144 bytes");
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return Object.fromEntries(REGS_FIELDS.map((f, i) => [f, dv.getBigUint64(i * REGS.field, true)])) as KvmRegs;
}

/** struct kvm_segment (24). The u8 flags follow each other from @14 in this order. */
export const SEGMENT = { size: 24, base: 0, limit: 8, selector: 12, type: 14 } as const;
export const SEGMENT_BYTE_FIELDS = ["type", "present", "dpl", "db", "s", "l", "g", "avl", "unusable"] as const;
export type SegmentByteField = (typeof SEGMENT_BYTE_FIELDS)[number];
export type KvmSegment = { base: bigint; limit: number; selector: number } & Record<SegmentByteField, number>;

/** struct kvm_dtable (16): base u64 @0, limit u16 @8, padding u16[3]. */
export const DTABLE = { size: 16, base: 0, limit: 8 } as const;
export interface KvmDtable {
  base: bigint;
  limit: number;
}

/** struct kvm_sregs (312). */
export const SREGS_SEGMENTS = ["cs", "ds", "es", "fs", "gs", "ss", "tr", "ldt"] as const;
export const SREGS_DTABLES = ["gdt", "idt"] as const;
export const SREGS_CONTROL = ["cr0", "cr2", "cr3", "cr4", "cr8", "efer", "apicBase"] as const;
export const SREGS = {
  size: 312,
  segments: 0,
  dtables: 192,
  control: 224,
  interruptBitmap: 280,
  interruptWords: 4,
} as const;
export type KvmSregs = Record<(typeof SREGS_SEGMENTS)[number], KvmSegment> &
  Record<(typeof SREGS_DTABLES)[number], KvmDtable> &
  Record<(typeof SREGS_CONTROL)[number], bigint> & { interruptBitmap: bigint[] };

function writeSegment(dv: DataView, o: number, s: KvmSegment): void {
  dv.setBigUint64(o + SEGMENT.base, BigInt.asUintN(64, s.base), true);
  dv.setUint32(o + SEGMENT.limit, s.limit >>> 0, true);
  dv.setUint16(o + SEGMENT.selector, s.selector & 0xffff, true);
  SEGMENT_BYTE_FIELDS.forEach((f, i) => dv.setUint8(o + SEGMENT.type + i, s[f] & 0xff));
}

function readSegment(dv: DataView, o: number): KvmSegment {
  const seg = {
    base: dv.getBigUint64(o + SEGMENT.base, true),
    limit: dv.getUint32(o + SEGMENT.limit, true),
    selector: dv.getUint16(o + SEGMENT.selector, true),
  } as KvmSegment;
  SEGMENT_BYTE_FIELDS.forEach((f, i) => (seg[f] = dv.getUint8(o + SEGMENT.type + i)));
  return seg;
}

export function encodeSregs(s: KvmSregs): Uint8Array {
  const buf = new Uint8Array(SREGS.size);
  const dv = new DataView(buf.buffer);
  SREGS_SEGMENTS.forEach((k, i) => writeSegment(dv, SREGS.segments + i * SEGMENT.size, s[k]));
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

export function decodeSregs(buf: Uint8Array): KvmSregs {
  if (buf.byteLength < SREGS.size) throw new RangeError("kvm_sregs: shorter than 312 bytes");
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: Record<string, unknown> = {};
  SREGS_SEGMENTS.forEach((k, i) => (out[k] = readSegment(dv, SREGS.segments + i * SEGMENT.size)));
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

// ---- VM setup structs ----

/** struct kvm_userspace_memory_region (32). */
export const MEMORY_REGION = {
  size: 32,
  slot: 0,
  flags: 4,
  guestPhysAddr: 8,
  memorySize: 16,
  userspaceAddr: 24,
} as const;
export const MEM_LOG_DIRTY_PAGES = 1;
export const MEM_READONLY = 2;
export interface MemoryRegion {
  slot: number;
  flags: number;
  guestPhysAddr: bigint;
  memorySize: bigint;
  userspaceAddr: bigint;
}

export function encodeMemoryRegion(r: MemoryRegion): Uint8Array {
  const buf = new Uint8Array(MEMORY_REGION.size);
  const dv = new DataView(buf.buffer);
  dv.setUint32(MEMORY_REGION.slot, r.slot >>> 0, true);
  dv.setUint32(MEMORY_REGION.flags, r.flags >>> 0, true);
  dv.setBigUint64(MEMORY_REGION.guestPhysAddr, r.guestPhysAddr, true);
  dv.setBigUint64(MEMORY_REGION.memorySize, r.memorySize, true);
  dv.setBigUint64(MEMORY_REGION.userspaceAddr, r.userspaceAddr, true);
  return buf;
}

/** struct kvm_enable_cap (104): cap u32 @0, flags u32 @4, args u64[4] @8, pad u8[64]. */
export const ENABLE_CAP = { size: 104, cap: 0, flags: 4, args: 8, argCount: 4 } as const;

export function encodeEnableCap(cap: number, args: readonly bigint[] = [], flags = 0): Uint8Array {
  if (args.length > ENABLE_CAP.argCount)
    throw new RangeError(`kvm_enable_cap: ${args.length} args, at most ${ENABLE_CAP.argCount}`);
  const buf = new Uint8Array(ENABLE_CAP.size);
  const dv = new DataView(buf.buffer);
  dv.setUint32(ENABLE_CAP.cap, cap >>> 0, true);
  dv.setUint32(ENABLE_CAP.flags, flags >>> 0, true);
  args.forEach((a, i) => dv.setBigUint64(ENABLE_CAP.args + i * 8, BigInt.asUintN(64, a), true));
  return buf;
}

// ---- struct kvm_run (the vCPU's shared page) ----

/** Offsets in struct kvm_run; the exit union starts at @32. */
export const KVM_RUN = {
  size: 2352,
  immediateExit: 1,
  exitReason: 8,
  exit: 32,
  io: { direction: 32, size: 33, port: 34, count: 36, dataOffset: 40 },
  mmio: { physAddr: 32, data: 40, dataBytes: 8, len: 48, isWrite: 52 },
  msr: { error: 32, reason: 40, index: 44, data: 48 },
  failEntry: { reason: 32, cpu: 40 },
  internal: { suberror: 32, ndata: 36, data: 40, maxData: 16 },
  systemEvent: { type: 32, ndata: 36, data: 40, maxData: 16 },
} as const;

/** struct kvm_signal_mask (4 + len): len u32 @0, sigset @4. KVM takes the kernel's sigset, 8 bytes (signals 1-64). */
export const SIGNAL_MASK = { header: 4, len: 0, sigset: 4, kernelSigsetBytes: 8 } as const;

/** The signals blocked while KVM_RUN executes guest code (KVM_SET_SIGNAL_MASK). */
export function encodeSignalMask(blocked: readonly number[]): Uint8Array {
  const buf = new Uint8Array(SIGNAL_MASK.header + SIGNAL_MASK.kernelSigsetBytes);
  new DataView(buf.buffer).setUint32(SIGNAL_MASK.len, SIGNAL_MASK.kernelSigsetBytes, true);
  buf.set(encodeSigset(blocked).subarray(0, SIGNAL_MASK.kernelSigsetBytes), SIGNAL_MASK.sigset);
  return buf;
}

/** struct kvm_xcrs (392): nr_xcrs u32 @0, flags u32 @4, xcrs[16] @8 (struct kvm_xcr: xcr u32, reserved u32, value u64), padding[16] u64. */
export const XCRS = { size: 392, nrXcrs: 0, flags: 4, xcrs: 8, xcrSize: 16, maxXcrs: 16 } as const;

// libc structs the run watchdog passes (x86_64 glibc), beside the KVM ones they work with.

/** glibc sigset_t (128 bytes): signal n is bit n-1, little-endian. */
export const SIGSET = { size: 128 } as const;

export function encodeSigset(signals: readonly number[]): Uint8Array {
  const buf = new Uint8Array(SIGSET.size);
  for (const s of signals) {
    if (!Number.isInteger(s) || s < 1 || s > SIGSET.size * 8) throw new RangeError(`signal ${s} out of range`);
    buf[(s - 1) >> 3]! |= 1 << ((s - 1) & 7);
  }
  return buf;
}

export function decodeSigset(buf: Uint8Array): number[] {
  const out: number[] = [];
  for (let bit = 0; bit < Math.min(buf.byteLength, SIGSET.size) * 8; bit++)
    if (buf[bit >> 3]! & (1 << (bit & 7))) out.push(bit + 1);
  return out;
}

/** struct sigevent (64): sigev_value @0, sigev_signo i32 @8, sigev_notify i32 @12, sigev_notify_thread_id i32 @16. */
export const SIGEVENT = { size: 64, value: 0, signo: 8, notify: 12, threadId: 16 } as const;
/** sigev_notify: deliver the signal to one thread (Linux). */
export const SIGEV_THREAD_ID = 4;

export function encodeThreadSigevent(signo: number, threadId: number): Uint8Array {
  const buf = new Uint8Array(SIGEVENT.size);
  const dv = new DataView(buf.buffer);
  dv.setInt32(SIGEVENT.signo, signo, true);
  dv.setInt32(SIGEVENT.notify, SIGEV_THREAD_ID, true);
  dv.setInt32(SIGEVENT.threadId, threadId, true);
  return buf;
}

/** struct timespec (16): tv_sec i64 @0, tv_nsec i64 @8. */
export const TIMESPEC = { size: 16, sec: 0, nsec: 8 } as const;
/** struct itimerspec (32): it_interval timespec @0, it_value timespec @16. */
export const ITIMERSPEC = { size: 32, interval: 0, value: 16 } as const;

export function encodeTimespec(ms: number): Uint8Array {
  const buf = new Uint8Array(TIMESPEC.size);
  writeTimespec(new DataView(buf.buffer), 0, ms);
  return buf;
}

/** A one-shot timer: it_interval zero, it_value `ms` from now (0 disarms). */
export function encodeOneShotItimerspec(ms: number): Uint8Array {
  const buf = new Uint8Array(ITIMERSPEC.size);
  writeTimespec(new DataView(buf.buffer), ITIMERSPEC.value, ms);
  return buf;
}

function writeTimespec(dv: DataView, at: number, ms: number): void {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`time ${ms} ms out of range`);
  const ns = BigInt(Math.round(ms * 1_000_000));
  dv.setBigInt64(at + TIMESPEC.sec, ns / 1_000_000_000n, true);
  dv.setBigInt64(at + TIMESPEC.nsec, ns % 1_000_000_000n, true);
}
