import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  CPUID_ENTRY2,
  KVM_RUN,
  MSR_FILTER,
  REGS,
  REGS_FIELDS,
  SEGMENT_BYTE_FIELDS,
  SREGS,
  SREGS_CONTROL,
  SREGS_DTABLES,
  SREGS_SEGMENTS,
  bitmapBytes,
  decodeCpuid2,
  decodeMsrFilter,
  decodeMsrList,
  decodeMsrs,
  decodeRegs,
  decodeSregs,
  encodeCpuid2,
  encodeEnableCap,
  encodeMemoryRegion,
  encodeMsrFilter,
  encodeMsrs,
  encodeRegs,
  encodeSregs,
  decodeSigset,
  encodeOneShotItimerspec,
  encodeTimespec,
  itimerspecValueMs,
  writeOneShotItimerspec,
  encodeSignalMask,
  encodeSigset,
  encodeThreadSigevent,
  type KvmRegs,
  type KvmSegment,
  type KvmSregs,
} from "../../src/kvm/layout.ts";
import { decodeExit, writeMsrReply } from "../../src/kvm/exit.ts";
import * as ref from "./layout-reference.ts";

const u32 = fc.nat({ max: 0xffffffff });
const u64 = fc.bigInt({ min: 0n, max: 0xffff_ffff_ffff_ffffn });
const u8 = fc.nat({ max: 0xff });

const regsArb: fc.Arbitrary<KvmRegs> = fc.record(
  Object.fromEntries(REGS_FIELDS.map((f) => [f, u64])) as Record<keyof KvmRegs, fc.Arbitrary<bigint>>,
);

const segmentArb: fc.Arbitrary<KvmSegment> = fc.record({
  base: u64,
  limit: u32,
  selector: fc.nat({ max: 0xffff }),
  ...(Object.fromEntries(SEGMENT_BYTE_FIELDS.map((f) => [f, u8])) as Record<
    (typeof SEGMENT_BYTE_FIELDS)[number],
    fc.Arbitrary<number>
  >),
});

const sregsArb: fc.Arbitrary<KvmSregs> = fc.record({
  ...(Object.fromEntries(SREGS_SEGMENTS.map((k) => [k, segmentArb])) as Record<
    (typeof SREGS_SEGMENTS)[number],
    fc.Arbitrary<KvmSegment>
  >),
  ...(Object.fromEntries(
    SREGS_DTABLES.map((k) => [k, fc.record({ base: u64, limit: fc.nat({ max: 0xffff }) })]),
  ) as Record<(typeof SREGS_DTABLES)[number], fc.Arbitrary<{ base: bigint; limit: number }>>),
  ...(Object.fromEntries(SREGS_CONTROL.map((k) => [k, u64])) as Record<
    (typeof SREGS_CONTROL)[number],
    fc.Arbitrary<bigint>
  >),
  interruptBitmap: fc.array(u64, { minLength: 4, maxLength: 4 }),
}) as fc.Arbitrary<KvmSregs>;

const cpuidArb = fc.record({ function: u32, index: u32, flags: u32, eax: u32, ebx: u32, ecx: u32, edx: u32 });

describe("struct round trips", () => {
  test("kvm_regs", () => {
    fc.assert(
      fc.property(regsArb, (r) => {
        const buf = encodeRegs(r);
        expect(buf.byteLength).toBe(REGS.size);
        expect(decodeRegs(buf)).toEqual(r);
      }),
    );
  });

  test("kvm_regs puts rip at byte 128 and rflags at 136", () => {
    const r = decodeRegs(
      encodeRegs({ ...Object.fromEntries(REGS_FIELDS.map((f) => [f, 0n])), rip: 0x1000n, rflags: 2n } as KvmRegs),
    );
    const dv = new DataView(encodeRegs(r).buffer);
    expect(dv.getBigUint64(128, true)).toBe(0x1000n);
    expect(dv.getBigUint64(136, true)).toBe(2n);
  });

  test("kvm_sregs", () => {
    fc.assert(
      fc.property(sregsArb, (s) => {
        const buf = encodeSregs(s);
        expect(buf.byteLength).toBe(SREGS.size);
        expect(decodeSregs(buf)).toEqual(s);
      }),
    );
  });

  test("kvm_sregs offsets: cs.l @19, gdt @192, cr3 @240, efer @264", () => {
    fc.assert(
      fc.property(sregsArb, (s) => {
        const dv = new DataView(encodeSregs(s).buffer);
        expect(dv.getUint8(19)).toBe(s.cs.l);
        expect(dv.getBigUint64(192, true)).toBe(s.gdt.base);
        expect(dv.getBigUint64(240, true)).toBe(s.cr3);
        expect(dv.getBigUint64(264, true)).toBe(s.efer);
      }),
      { numRuns: 20 },
    );
  });

  test("kvm_cpuid2", () => {
    fc.assert(
      fc.property(fc.array(cpuidArb, { maxLength: 64 }), (entries) => {
        const buf = encodeCpuid2(entries);
        expect(buf.byteLength).toBe(8 + entries.length * CPUID_ENTRY2.size);
        expect(decodeCpuid2(buf)).toEqual(entries);
      }),
    );
  });

  test("kvm_msrs", () => {
    fc.assert(
      fc.property(fc.array(fc.record({ index: u32, value: u64 }), { maxLength: 64 }), (entries) => {
        expect(decodeMsrs(encodeMsrs(entries))).toEqual(entries);
      }),
    );
  });

  test("kvm_msr_filter (offsets form)", () => {
    const rangeArb = fc
      .record({ flags: fc.integer({ min: 1, max: 3 }), base: u32, nmsrs: fc.integer({ min: 1, max: 300 }) })
      .chain((r) =>
        fc
          .uint8Array({ minLength: bitmapBytes(r.nmsrs), maxLength: bitmapBytes(r.nmsrs) })
          .map((bitmap) => ({ ...r, bitmap })),
      );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1 }), fc.array(rangeArb, { maxLength: 16 }), (flags, ranges) => {
        const buf = encodeMsrFilter({ flags, ranges });
        expect(buf.byteLength).toBe(MSR_FILTER.size + ranges.reduce((s, r) => s + bitmapBytes(r.nmsrs), 0));
        expect(decodeMsrFilter(buf)).toEqual({ flags, ranges });
      }),
      { numRuns: 50 },
    );
  });

  test("memory region and enable_cap place their fields", () => {
    const dv = new DataView(
      encodeMemoryRegion({
        slot: 3,
        flags: 2,
        guestPhysAddr: 0x1000n,
        memorySize: 0x200000n,
        userspaceAddr: 0x7f00_0000_0000n,
      }).buffer,
    );
    expect([dv.getUint32(0, true), dv.getUint32(4, true)]).toEqual([3, 2]);
    expect([dv.getBigUint64(8, true), dv.getBigUint64(16, true), dv.getBigUint64(24, true)]).toEqual([
      0x1000n,
      0x200000n,
      0x7f00_0000_0000n,
    ]);
    const cap = encodeEnableCap(188, [7n]);
    expect(cap.byteLength).toBe(104);
    expect(new DataView(cap.buffer).getUint32(0, true)).toBe(188);
    expect(new DataView(cap.buffer).getBigUint64(8, true)).toBe(7n);
    expect(() => encodeEnableCap(1, [1n, 2n, 3n, 4n, 5n])).toThrow(RangeError);
  });
});

describe("kvm_run exit decoding", () => {
  function page(reason: number): { run: Uint8Array; dv: DataView } {
    const run = new Uint8Array(12288);
    const dv = new DataView(run.buffer);
    dv.setUint32(KVM_RUN.exitReason, reason, true);
    return { run, dv };
  }

  test("IO exit carries port, direction and the data at data_offset", () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 0xffff }),
        fc.constantFrom(1, 2, 4),
        fc.integer({ min: 1, max: 8 }),
        fc.boolean(),
        (port, size, count, out) => {
          const { run, dv } = page(2);
          dv.setUint8(32, out ? 1 : 0);
          dv.setUint8(33, size);
          dv.setUint16(34, port, true);
          dv.setUint32(36, count, true);
          dv.setBigUint64(40, 4096n, true);
          for (let i = 0; i < size * count; i++) run[4096 + i] = i + 1;
          const e = decodeExit(run);
          expect(e.reason).toBe("IO");
          expect(e.io).toMatchObject({ port, size, count, direction: out ? "out" : "in", dataOffset: 4096 });
          expect([...e.io!.data]).toEqual(Array.from({ length: size * count }, (_, i) => i + 1));
        },
      ),
      { numRuns: 30 },
    );
  });

  test("MSR exits decode and take the reply", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(29, 30),
        u32,
        fc.constantFrom(1, 2, 4),
        u64,
        fc.boolean(),
        (code, index, reason, data, error) => {
          const { run, dv } = page(code);
          dv.setUint32(40, reason, true);
          dv.setUint32(44, index, true);
          dv.setBigUint64(48, data, true);
          const e = decodeExit(run);
          expect(e.reason).toBe(code === 29 ? "X86_RDMSR" : "X86_WRMSR");
          expect(e.msr).toEqual({ error: 0, reason, index, data });
          writeMsrReply(run, { error, data: 0x1234n });
          expect(decodeExit(run).msr).toEqual({ error: error ? 1 : 0, reason, index, data: 0x1234n });
        },
      ),
      { numRuns: 30 },
    );
  });

  test("fail entry, internal error, system event and unknown reasons", () => {
    let { run, dv } = page(9);
    dv.setBigUint64(32, 0x80000021n, true);
    dv.setUint32(40, 3, true);
    expect(decodeExit(run)).toMatchObject({
      reason: "FAIL_ENTRY",
      failEntry: { hardwareEntryFailureReason: 0x80000021n, cpu: 3 },
    });
    ({ run, dv } = page(17));
    dv.setUint32(32, 1, true);
    dv.setUint32(36, 2, true);
    dv.setBigUint64(40, 5n, true);
    dv.setBigUint64(48, 6n, true);
    expect(decodeExit(run)).toMatchObject({ reason: "INTERNAL_ERROR", internal: { suberror: 1, data: [5n, 6n] } });
    ({ run, dv } = page(24));
    dv.setUint32(32, 2, true);
    dv.setUint32(36, 999, true); // ndata beyond the array is clamped to 16
    expect(decodeExit(run).systemEvent?.data.length).toBe(16);
    expect(decodeExit(page(8).run).reason).toBe("SHUTDOWN");
    expect(decodeExit(page(99).run).reason).toBe("EXIT_99");
  });

  test("an exit is a union on its reason: narrowing gives the payload, and only that payload is present", () => {
    for (const code of [2, 6, 29, 9, 17, 24, 5, 99]) {
      const e = decodeExit(page(code).run);
      const payloads = (["io", "mmio", "msr", "failEntry", "internal", "systemEvent"] as const).filter(
        (k) => e[k] !== undefined,
      );
      switch (e.reason) {
        case "IO":
          expect([typeof e.io.port, payloads]).toEqual(["number", ["io"]]);
          break;
        case "MMIO":
          expect([typeof e.mmio.isWrite, payloads]).toEqual(["boolean", ["mmio"]]);
          break;
        case "X86_RDMSR":
          expect([typeof e.msr.index, payloads]).toEqual(["number", ["msr"]]);
          break;
        case "FAIL_ENTRY":
          expect([typeof e.failEntry.cpu, payloads]).toEqual(["number", ["failEntry"]]);
          break;
        case "INTERNAL_ERROR":
          expect([Array.isArray(e.internal.data), payloads]).toEqual([true, ["internal"]]);
          break;
        case "SYSTEM_EVENT":
          expect([Array.isArray(e.systemEvent.data), payloads]).toEqual([true, ["systemEvent"]]);
          break;
        default:
          expect([e.reason, payloads]).toEqual([code === 5 ? "HLT" : `EXIT_${code}`, []]);
      }
    }
  });
});

describe("the run watchdog's structs", () => {
  test("sigset_t: any set of signals 1-1024 round-trips, signal n is bit n-1", () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: 1024 }), { maxLength: 40 }), (signals) => {
        expect(decodeSigset(encodeSigset(signals))).toEqual([...signals].sort((a, b) => a - b));
      }),
    );
    expect([...encodeSigset([14]).subarray(0, 2)]).toEqual([0x00, 0x20]); // SIGALRM: bit 13
    expect(() => encodeSigset([0])).toThrow(RangeError);
  });

  test("kvm_signal_mask: len 8 (the kernel's sigset) then the first 8 bytes of the set", () => {
    const buf = encodeSignalMask([1, 14, 64]);
    expect(buf.byteLength).toBe(12);
    expect(new DataView(buf.buffer).getUint32(0, true)).toBe(8);
    expect(decodeSigset(buf.subarray(4))).toEqual([1, 14, 64]);
  });

  test("sigevent for one thread: signo @8, SIGEV_THREAD_ID (4) @12, thread id @16", () => {
    const dv = new DataView(encodeThreadSigevent(14, 4242).buffer);
    expect([dv.getInt32(8, true), dv.getInt32(12, true), dv.getInt32(16, true)]).toEqual([14, 4, 4242]);
  });

  test("one-shot itimerspec: interval zero, value in seconds and nanoseconds", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000_000 }), (ms) => {
        const dv = new DataView(encodeOneShotItimerspec(ms).buffer);
        expect([dv.getBigInt64(0, true), dv.getBigInt64(8, true)]).toEqual([0n, 0n]);
        expect(dv.getBigInt64(16, true) * 1000n + dv.getBigInt64(24, true) / 1_000_000n).toBe(BigInt(ms));
        expect(dv.getBigInt64(24, true) < 1_000_000_000n).toBe(true);
      }),
    );
    expect(() => encodeOneShotItimerspec(-1)).toThrow(RangeError);
  });
});

describe("the typed-array encoders write exactly what the DataView reference wrote (layout-reference.ts)", () => {
  /** A copy of `bytes` at an odd offset of a bigger buffer: decoders must accept any subarray. */
  const unaligned = (bytes: Uint8Array) => {
    const big = new Uint8Array(bytes.byteLength + 3);
    big.set(bytes, 3);
    return big.subarray(3);
  };
  const anyInt = fc.oneof(u32, fc.integer(), fc.integer({ min: -0xffff, max: -1 }));
  const anyBig = fc.oneof(u64, fc.bigInt({ min: -(1n << 70n), max: 1n << 70n }));

  test("kvm_cpuid2, also with spare capacity and out-of-range values", () => {
    const entry = fc.record({
      function: anyInt,
      index: anyInt,
      flags: anyInt,
      eax: anyInt,
      ebx: anyInt,
      ecx: anyInt,
      edx: anyInt,
    });
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 40 }), fc.nat({ max: 4 }), (entries, spare) => {
        const bytes = encodeCpuid2(entries, entries.length + spare);
        expect(bytes).toEqual(ref.refEncodeCpuid2(entries, entries.length + spare));
        expect(decodeCpuid2(bytes)).toEqual(ref.refDecodeCpuid2(bytes));
        expect(decodeCpuid2(unaligned(bytes))).toEqual(ref.refDecodeCpuid2(bytes));
      }),
    );
    expect(() => encodeCpuid2([{ function: 1, index: 0, flags: 0, eax: 0, ebx: 0, ecx: 0, edx: 0 }], 0)).toThrow(
      RangeError,
    );
    expect(() => decodeCpuid2(new Uint8Array(4))).toThrow(RangeError);
    expect(() => decodeCpuid2(Uint8Array.of(9, 0, 0, 0, 0, 0, 0, 0))).toThrow(RangeError);
  });

  test("kvm_msrs and kvm_msr_list", () => {
    fc.assert(
      fc.property(fc.array(fc.record({ index: anyInt, value: anyBig }), { maxLength: 40 }), (entries) => {
        const bytes = encodeMsrs(entries);
        expect(bytes).toEqual(ref.refEncodeMsrs(entries));
        expect(decodeMsrs(bytes)).toEqual(ref.refDecodeMsrs(bytes));
        expect(decodeMsrs(unaligned(bytes), Math.min(entries.length, 3))).toEqual(
          ref.refDecodeMsrs(bytes, Math.min(entries.length, 3)),
        );
      }),
    );
    fc.assert(
      fc.property(fc.array(u32, { maxLength: 40 }), (indices) => {
        const bytes = new Uint8Array(4 + indices.length * 4);
        const dv = new DataView(bytes.buffer);
        dv.setUint32(0, indices.length, true);
        indices.forEach((v, i) => dv.setUint32(4 + i * 4, v, true));
        expect(decodeMsrList(unaligned(bytes))).toEqual(ref.refDecodeMsrList(bytes));
        expect(decodeMsrList(bytes)).toEqual(indices);
      }),
    );
    expect(() => decodeMsrs(Uint8Array.of(2, 0, 0, 0, 0, 0, 0, 0))).toThrow(RangeError);
    expect(() => decodeMsrList(Uint8Array.of(1, 0, 0, 0))).toThrow(RangeError);
  });

  test("kvm_msr_filter, in offsets form and with pointers", () => {
    const rangeArb = fc
      .record({ flags: fc.integer({ min: 0, max: 3 }), base: anyInt, nmsrs: fc.integer({ min: 0, max: 300 }) })
      .chain((r) => fc.uint8Array({ maxLength: bitmapBytes(r.nmsrs) + 8 }).map((bitmap) => ({ ...r, bitmap })));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1 }), fc.array(rangeArb, { maxLength: 16 }), (flags, ranges) => {
        expect(encodeMsrFilter({ flags, ranges })).toEqual(ref.refEncodeMsrFilter({ flags, ranges }));
        const pointerOf = (_: Uint8Array, offset: number) => 0x7f00_0000_0000n + BigInt(offset);
        expect(encodeMsrFilter({ flags, ranges }, pointerOf)).toEqual(
          ref.refEncodeMsrFilter({ flags, ranges }, pointerOf),
        );
      }),
      { numRuns: 50 },
    );
  });

  test("kvm_regs and kvm_sregs, also with out-of-range values", () => {
    const regs = fc.record(
      Object.fromEntries(REGS_FIELDS.map((f) => [f, anyBig])) as Record<keyof KvmRegs, fc.Arbitrary<bigint>>,
    );
    fc.assert(
      fc.property(regs, (r) => {
        const bytes = encodeRegs(r);
        expect(bytes).toEqual(ref.refEncodeRegs(r));
        expect(decodeRegs(unaligned(bytes))).toEqual(ref.refDecodeRegs(bytes));
      }),
    );
    const segment = fc.record({
      base: anyBig,
      limit: anyInt,
      selector: anyInt,
      ...(Object.fromEntries(SEGMENT_BYTE_FIELDS.map((f) => [f, anyInt])) as Record<
        (typeof SEGMENT_BYTE_FIELDS)[number],
        fc.Arbitrary<number>
      >),
    });
    const sregs = fc.record({
      ...(Object.fromEntries(SREGS_SEGMENTS.map((k) => [k, segment])) as Record<
        (typeof SREGS_SEGMENTS)[number],
        fc.Arbitrary<KvmSegment>
      >),
      ...(Object.fromEntries(SREGS_DTABLES.map((k) => [k, fc.record({ base: anyBig, limit: anyInt })])) as Record<
        (typeof SREGS_DTABLES)[number],
        fc.Arbitrary<{ base: bigint; limit: number }>
      >),
      ...(Object.fromEntries(SREGS_CONTROL.map((k) => [k, anyBig])) as Record<
        (typeof SREGS_CONTROL)[number],
        fc.Arbitrary<bigint>
      >),
      interruptBitmap: fc.array(anyBig, { maxLength: 5 }),
    }) as fc.Arbitrary<KvmSregs>;
    fc.assert(
      fc.property(sregs, (s) => {
        const bytes = encodeSregs(s);
        expect(bytes).toEqual(ref.refEncodeSregs(s));
        expect(decodeSregs(unaligned(bytes))).toEqual(ref.refDecodeSregs(bytes));
      }),
      { numRuns: 50 },
    );
  });

  test("memory region, enable_cap, sigevent, sigset", () => {
    fc.assert(
      fc.property(anyInt, anyInt, u64, u64, u64, (slot, flags, guestPhysAddr, memorySize, userspaceAddr) => {
        const r = { slot, flags, guestPhysAddr, memorySize, userspaceAddr };
        expect(encodeMemoryRegion(r)).toEqual(ref.refEncodeMemoryRegion(r));
      }),
    );
    fc.assert(
      fc.property(anyInt, fc.array(anyBig, { maxLength: 4 }), anyInt, (cap, args, flags) => {
        expect(encodeEnableCap(cap, args, flags)).toEqual(ref.refEncodeEnableCap(cap, args, flags));
      }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), (signo, tid) => {
        expect(encodeThreadSigevent(signo, tid)).toEqual(ref.refEncodeThreadSigevent(signo, tid));
      }),
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 140 }), (bytes) => {
        expect(decodeSigset(bytes)).toEqual(ref.refDecodeSigset(bytes));
      }),
    );
  });

  test("timespec and itimerspec, to the nanosecond, including past the exact-double range", () => {
    const ms = fc.oneof(
      fc.integer({ min: 0, max: 10_000_000 }),
      fc.double({ min: 0, max: 1e7, noNaN: true }),
      fc.double({ min: 0, max: 1e12, noNaN: true }),
      fc.integer({ min: 0, max: 2000 }).map((k) => k * 1000 - 1e-6),
      fc.constantFrom(0, 0.001, 999.9999995, 4_503_599.627370496, 4_503_599_627.370497),
    );
    fc.assert(
      fc.property(ms, (t) => {
        if (t < 0) return;
        expect(encodeTimespec(t)).toEqual(ref.refEncodeTimespec(t));
        expect(encodeOneShotItimerspec(t)).toEqual(ref.refEncodeOneShotItimerspec(t));
        const reused = new Uint8Array(32).fill(0xff);
        writeOneShotItimerspec(reused, t);
        expect([...reused]).toEqual([...ref.refEncodeOneShotItimerspec(t)]);
        if (t < 1e9) expect(Math.abs(itimerspecValueMs(reused) - Math.round(t * 1e6) / 1e6)).toBeLessThan(1e-6);
      }),
      { numRuns: 500 },
    );
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => encodeTimespec(bad)).toThrow(RangeError);
      expect(() => ref.refEncodeTimespec(bad)).toThrow(RangeError);
    }
  });
});
