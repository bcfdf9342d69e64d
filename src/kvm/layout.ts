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
  if (CPUID2.header + nent * CPUID_ENTRY2.size > buf.byteLength) throw new RangeError(`kvm_cpuid2: nent ${nent} exceeds the buffer`);
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
  if (MSRS.header + n * MSR_ENTRY.size > buf.byteLength) throw new RangeError(`kvm_msrs: nmsrs ${n} exceeds the buffer`);
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
export function encodeMsrFilter(filter: MsrFilter, pointerOf?: (bitmap: Uint8Array, offset: number) => bigint): Uint8Array {
  if (filter.ranges.length > MSR_FILTER_MAX_RANGES) throw new RangeError(`kvm_msr_filter: ${filter.ranges.length} ranges, at most ${MSR_FILTER_MAX_RANGES}`);
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
