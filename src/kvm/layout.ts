// Struct layouts of the KVM uapi (x86_64, little-endian), each field with its byte offset.
// Pure encoders/decoders over bytes: no FFI here, so formats/ can write the same structs a VMM passes to KVM.
// Fields are read and written through typed-array views, which use the host's byte order: the structs are
// little-endian (x86_64) and so is every platform Bun runs on. In a cold process these functions run once each,
// in the interpreter, where an indexed store costs a fraction of a DataView call (test/kvm/layout-reference.ts
// holds the DataView encoders they are checked against, byte for byte).
import type { CpuidEntry } from "../model/cpuid.ts";

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1)
  throw new Error("cpuprof's struct layouts need a little-endian host");

/** A struct's byte offsets as indices into a view of `unit`-byte elements (every field used so is aligned to it). */
function inUnits<T extends Record<string, number>>(layout: T, unit: number): { readonly [K in keyof T]: number } {
  // A plain loop: this runs as the module loads, where Object.fromEntries' first call costs ~0.05 ms.
  const out: Record<string, number> = {};
  for (const k in layout) out[k] = Math.floor((layout[k] as number) / unit);
  return out as { [K in keyof T]: number };
}

/** `buf` when its offset allows `align`-byte views, else an aligned copy (a decoder may be given any subarray). */
function alignedTo(buf: Uint8Array, align: number): Uint8Array {
  return buf.byteOffset % align === 0 ? buf : buf.slice();
}

function u32View(buf: Uint8Array): Uint32Array {
  return new Uint32Array(buf.buffer, buf.byteOffset, buf.byteLength >>> 2);
}

function u64View(buf: Uint8Array): BigUint64Array {
  return new BigUint64Array(buf.buffer, buf.byteOffset, buf.byteLength >>> 3);
}

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

const CPUID2_W = inUnits(CPUID2, 4);
const CPUID_ENTRY2_W = inUnits(CPUID_ENTRY2, 4);

export function encodeCpuid2(entries: readonly CpuidEntry[], capacity = entries.length): Uint8Array {
  if (entries.length > capacity) throw new RangeError(`kvm_cpuid2: ${entries.length} entries, room for ${capacity}`);
  const words = new Uint32Array((CPUID2.header + capacity * CPUID_ENTRY2.size) >>> 2);
  const F = CPUID_ENTRY2_W;
  words[CPUID2_W.nent] = capacity;
  for (let i = 0, w = CPUID2_W.entries; i < entries.length; i++, w += F.size) {
    const e = entries[i]!;
    words[w + F.function] = e.function;
    words[w + F.index] = e.index;
    words[w + F.flags] = e.flags;
    words[w + F.eax] = e.eax;
    words[w + F.ebx] = e.ebx;
    words[w + F.ecx] = e.ecx;
    words[w + F.edx] = e.edx;
  }
  return new Uint8Array(words.buffer);
}

export function decodeCpuid2(buf: Uint8Array): CpuidEntry[] {
  if (buf.byteLength < CPUID2.header) throw new RangeError("kvm_cpuid2: shorter than its header");
  const words = u32View(alignedTo(buf, 4));
  const F = CPUID_ENTRY2_W;
  const nent = words[CPUID2_W.nent]!;
  if (CPUID2.header + nent * CPUID_ENTRY2.size > buf.byteLength)
    throw new RangeError(`kvm_cpuid2: nent ${nent} exceeds the buffer`);
  const out: CpuidEntry[] = [];
  for (let i = 0, w = CPUID2_W.entries; i < nent; i++, w += F.size) {
    out.push({
      function: words[w + F.function]!,
      index: words[w + F.index]!,
      flags: words[w + F.flags]!,
      eax: words[w + F.eax]!,
      ebx: words[w + F.ebx]!,
      ecx: words[w + F.ecx]!,
      edx: words[w + F.edx]!,
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
  const words = u32View(buf);
  const quads = u64View(buf);
  words[MSRS.nmsrs >>> 2] = entries.length;
  for (let i = 0, o = MSRS.entries; i < entries.length; i++, o += MSR_ENTRY.size) {
    const m = entries[i]!;
    words[(o + MSR_ENTRY.index) >>> 2] = m.index;
    // A BigUint64Array store wraps modulo 2^64, as BigInt.asUintN(64, ...) does.
    quads[(o + MSR_ENTRY.data) >>> 3] = m.value;
  }
  return buf;
}

export function decodeMsrs(buf: Uint8Array, count?: number): MsrValue[] {
  const b = alignedTo(buf, 8);
  const words = u32View(b);
  const n = count ?? words[MSRS.nmsrs >>> 2];
  if (n === undefined || MSRS.header + n * MSR_ENTRY.size > buf.byteLength)
    throw new RangeError(`kvm_msrs: nmsrs ${n ?? "(none)"} exceeds the buffer`);
  const quads = u64View(b);
  const out: MsrValue[] = [];
  for (let i = 0, o = MSRS.entries; i < n; i++, o += MSR_ENTRY.size) {
    out.push({ index: words[(o + MSR_ENTRY.index) >>> 2]!, value: quads[(o + MSR_ENTRY.data) >>> 3]! });
  }
  return out;
}

/** struct kvm_msr_list (4 + n*4): nmsrs u32 @0, indices u32[] @4. */
export const MSR_LIST = { header: 4, nmsrs: 0, indices: 4 } as const;

export function decodeMsrList(buf: Uint8Array): number[] {
  const words = u32View(alignedTo(buf, 4));
  const n = words[MSR_LIST.nmsrs >>> 2];
  if (n === undefined || MSR_LIST.header + n * 4 > buf.byteLength)
    throw new RangeError(`kvm_msr_list: nmsrs ${n ?? "(none)"} exceeds the buffer`);
  const out: number[] = [];
  for (let i = 0, w = MSR_LIST.indices >>> 2; i < n; i++) out.push(words[w + i]!);
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
  const ranges = filter.ranges;
  let total = MSR_FILTER.size;
  for (let i = 0; i < ranges.length; i++) total += bitmapBytes(ranges[i]!.nmsrs);
  const buf = new Uint8Array(total);
  const header = buf.subarray(0, MSR_FILTER.size);
  const words = u32View(header);
  const quads = u64View(header);
  words[MSR_FILTER.flags >>> 2] = filter.flags;
  let offset = MSR_FILTER.size;
  for (let i = 0, o = MSR_FILTER.ranges; i < ranges.length; i++, o += MSR_FILTER_RANGE.size) {
    const r = ranges[i]!;
    words[(o + MSR_FILTER_RANGE.flags) >>> 2] = r.flags;
    words[(o + MSR_FILTER_RANGE.nmsrs) >>> 2] = r.nmsrs;
    words[(o + MSR_FILTER_RANGE.base) >>> 2] = r.base;
    const len = bitmapBytes(r.nmsrs);
    buf.set(r.bitmap.subarray(0, len), offset);
    quads[(o + MSR_FILTER_RANGE.bitmap) >>> 3] = pointerOf ? pointerOf(r.bitmap, offset) : BigInt(offset);
    offset += len;
  }
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
  const quads = new BigUint64Array(REGS.size >>> 3);
  for (let i = 0; i < REGS_FIELDS.length; i++) quads[(i * REGS.field) >>> 3] = regs[REGS_FIELDS[i]!];
  return new Uint8Array(quads.buffer);
}

export function decodeRegs(buf: Uint8Array): KvmRegs {
  if (buf.byteLength < REGS.size) throw new RangeError("kvm_regs: shorter than 144 bytes");
  const quads = u64View(alignedTo(buf, 8));
  const out = {} as KvmRegs;
  for (let i = 0; i < REGS_FIELDS.length; i++) out[REGS_FIELDS[i]!] = quads[(i * REGS.field) >>> 3]!;
  return out;
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

/** The four widths a struct's fields come in, as views of one buffer. */
interface FieldViews {
  u8: Uint8Array;
  u16: Uint16Array;
  u32: Uint32Array;
  u64: BigUint64Array;
}

function fieldViews(buf: Uint8Array): FieldViews {
  const { buffer, byteOffset, byteLength } = buf;
  return {
    u8: buf,
    u16: new Uint16Array(buffer, byteOffset, byteLength >>> 1),
    u32: new Uint32Array(buffer, byteOffset, byteLength >>> 2),
    u64: new BigUint64Array(buffer, byteOffset, byteLength >>> 3),
  };
}

// Typed-array stores wrap as the masks of a DataView encoder would (& 0xff, & 0xffff, >>> 0, asUintN(64)).
function writeSegment(v: FieldViews, o: number, s: KvmSegment): void {
  v.u64[(o + SEGMENT.base) >>> 3] = s.base;
  v.u32[(o + SEGMENT.limit) >>> 2] = s.limit;
  v.u16[(o + SEGMENT.selector) >>> 1] = s.selector;
  for (let i = 0; i < SEGMENT_BYTE_FIELDS.length; i++) v.u8[o + SEGMENT.type + i] = s[SEGMENT_BYTE_FIELDS[i]!];
}

function readSegment(v: FieldViews, o: number): KvmSegment {
  const seg = {
    base: v.u64[(o + SEGMENT.base) >>> 3]!,
    limit: v.u32[(o + SEGMENT.limit) >>> 2]!,
    selector: v.u16[(o + SEGMENT.selector) >>> 1]!,
  } as KvmSegment;
  for (let i = 0; i < SEGMENT_BYTE_FIELDS.length; i++) seg[SEGMENT_BYTE_FIELDS[i]!] = v.u8[o + SEGMENT.type + i]!;
  return seg;
}

export function encodeSregs(s: KvmSregs): Uint8Array {
  const buf = new Uint8Array(SREGS.size);
  const v = fieldViews(buf);
  for (let i = 0; i < SREGS_SEGMENTS.length; i++)
    writeSegment(v, SREGS.segments + i * SEGMENT.size, s[SREGS_SEGMENTS[i]!]);
  for (let i = 0; i < SREGS_DTABLES.length; i++) {
    const o = SREGS.dtables + i * DTABLE.size;
    const t = s[SREGS_DTABLES[i]!];
    v.u64[(o + DTABLE.base) >>> 3] = t.base;
    v.u16[(o + DTABLE.limit) >>> 1] = t.limit;
  }
  for (let i = 0; i < SREGS_CONTROL.length; i++) v.u64[(SREGS.control + i * 8) >>> 3] = s[SREGS_CONTROL[i]!];
  for (let i = 0; i < SREGS.interruptWords; i++)
    v.u64[(SREGS.interruptBitmap + i * 8) >>> 3] = s.interruptBitmap[i] ?? 0n;
  return buf;
}

export function decodeSregs(buf: Uint8Array): KvmSregs {
  if (buf.byteLength < SREGS.size) throw new RangeError("kvm_sregs: shorter than 312 bytes");
  const v = fieldViews(alignedTo(buf, 8));
  const out: Record<string, unknown> = {};
  for (let i = 0; i < SREGS_SEGMENTS.length; i++)
    out[SREGS_SEGMENTS[i]!] = readSegment(v, SREGS.segments + i * SEGMENT.size);
  for (let i = 0; i < SREGS_DTABLES.length; i++) {
    const o = SREGS.dtables + i * DTABLE.size;
    out[SREGS_DTABLES[i]!] = { base: v.u64[(o + DTABLE.base) >>> 3]!, limit: v.u16[(o + DTABLE.limit) >>> 1]! };
  }
  for (let i = 0; i < SREGS_CONTROL.length; i++) out[SREGS_CONTROL[i]!] = v.u64[(SREGS.control + i * 8) >>> 3]!;
  const interruptBitmap: bigint[] = [];
  for (let i = 0; i < SREGS.interruptWords; i++) interruptBitmap.push(v.u64[(SREGS.interruptBitmap + i * 8) >>> 3]!);
  out.interruptBitmap = interruptBitmap;
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
  const words = u32View(buf);
  const quads = u64View(buf);
  words[MEMORY_REGION.slot >>> 2] = r.slot;
  words[MEMORY_REGION.flags >>> 2] = r.flags;
  quads[MEMORY_REGION.guestPhysAddr >>> 3] = r.guestPhysAddr;
  quads[MEMORY_REGION.memorySize >>> 3] = r.memorySize;
  quads[MEMORY_REGION.userspaceAddr >>> 3] = r.userspaceAddr;
  return buf;
}

/** struct kvm_enable_cap (104): cap u32 @0, flags u32 @4, args u64[4] @8, pad u8[64]. */
export const ENABLE_CAP = { size: 104, cap: 0, flags: 4, args: 8, argCount: 4 } as const;

export function encodeEnableCap(cap: number, args: readonly bigint[] = [], flags = 0): Uint8Array {
  if (args.length > ENABLE_CAP.argCount)
    throw new RangeError(`kvm_enable_cap: ${args.length} args, at most ${ENABLE_CAP.argCount}`);
  const buf = new Uint8Array(ENABLE_CAP.size);
  const words = u32View(buf);
  const quads = u64View(buf);
  words[ENABLE_CAP.cap >>> 2] = cap;
  words[ENABLE_CAP.flags >>> 2] = flags;
  for (let i = 0; i < args.length; i++) quads[(ENABLE_CAP.args + i * 8) >>> 3] = args[i]!;
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
  const bytes = Math.min(buf.byteLength, SIGSET.size);
  for (let byte = 0; byte < bytes; byte++) {
    const b = buf[byte]!;
    if (b !== 0) for (let bit = 0; bit < 8; bit++) if (b & (1 << bit)) out.push(byte * 8 + bit + 1);
  }
  return out;
}

/** struct sigevent (64): sigev_value @0, sigev_signo i32 @8, sigev_notify i32 @12, sigev_notify_thread_id i32 @16. */
export const SIGEVENT = { size: 64, value: 0, signo: 8, notify: 12, threadId: 16 } as const;
/** sigev_notify: deliver the signal to one thread (Linux). */
export const SIGEV_THREAD_ID = 4;

export function encodeThreadSigevent(signo: number, threadId: number): Uint8Array {
  const words = new Int32Array(SIGEVENT.size >>> 2);
  words[SIGEVENT.signo >>> 2] = signo;
  words[SIGEVENT.notify >>> 2] = SIGEV_THREAD_ID;
  words[SIGEVENT.threadId >>> 2] = threadId;
  return new Uint8Array(words.buffer);
}

/** struct timespec (16): tv_sec i64 @0, tv_nsec i64 @8. */
export const TIMESPEC = { size: 16, sec: 0, nsec: 8 } as const;
/** struct itimerspec (32): it_interval timespec @0, it_value timespec @16. */
export const ITIMERSPEC = { size: 32, interval: 0, value: 16 } as const;

export function encodeTimespec(ms: number): Uint8Array {
  const buf = new Uint8Array(TIMESPEC.size);
  writeTimespec(buf, 0, ms);
  return buf;
}

/** A one-shot timer: it_interval zero, it_value `ms` from now (0 disarms). */
export function encodeOneShotItimerspec(ms: number): Uint8Array {
  const buf = new Uint8Array(ITIMERSPEC.size);
  writeTimespec(buf, ITIMERSPEC.value, ms);
  return buf;
}

/** encodeOneShotItimerspec into an existing itimerspec buffer (the run watchdog re-arms with one). */
export function writeOneShotItimerspec(buf: Uint8Array, ms: number): void {
  writeTimespec(buf, ITIMERSPEC.interval, 0);
  writeTimespec(buf, ITIMERSPEC.value, ms);
}

/** it_value of an itimerspec in milliseconds (timer_settime's old value: the time that was left, 0 once expired). */
export function itimerspecValueMs(buf: Uint8Array): number {
  const w = u32View(alignedTo(buf, 4));
  const at = (ITIMERSPEC.value + TIMESPEC.sec) >>> 2;
  const sec = w[at]! + w[at + 1]! * 2 ** 32;
  return sec * 1000 + w[(ITIMERSPEC.value + TIMESPEC.nsec) >>> 2]! / 1_000_000;
}

/** Below this many nanoseconds (52 days) a timespec is computed in exact integer doubles, without BigInt. */
const NUMBER_NS_LIMIT = 2 ** 52;

function writeTimespec(buf: Uint8Array, at: number, ms: number): void {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`time ${ms} ms out of range`);
  const ns = Math.round(ms * 1_000_000);
  if (ns >= NUMBER_NS_LIMIT) {
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const big = BigInt(ns);
    dv.setBigInt64(at + TIMESPEC.sec, big / 1_000_000_000n, true);
    dv.setBigInt64(at + TIMESPEC.nsec, big % 1_000_000_000n, true);
    return;
  }
  // Every value here is an integer below 2^53, so the arithmetic is exact; the floor is corrected for rounding.
  let sec = Math.floor(ns / 1_000_000_000);
  let nsec = ns - sec * 1_000_000_000;
  if (nsec < 0) (sec -= 1), (nsec += 1_000_000_000);
  else if (nsec >= 1_000_000_000) (sec += 1), (nsec -= 1_000_000_000);
  const w = new Uint32Array(buf.buffer, buf.byteOffset + at, TIMESPEC.size >>> 2);
  w[TIMESPEC.sec >>> 2] = sec; // below 2^32: the high word stays 0
  w[(TIMESPEC.sec >>> 2) + 1] = 0;
  w[TIMESPEC.nsec >>> 2] = nsec;
  w[(TIMESPEC.nsec >>> 2) + 1] = 0;
}
