// Decoding of struct kvm_run after KVM_RUN returns: the exit reason by name and its union member.
// Pure over bytes, so it is tested without a device.
import { KVM_RUN } from "./layout.ts";

export const EXIT_REASONS = {
  UNKNOWN: 0,
  EXCEPTION: 1,
  IO: 2,
  HYPERCALL: 3,
  DEBUG: 4,
  HLT: 5,
  MMIO: 6,
  IRQ_WINDOW_OPEN: 7,
  SHUTDOWN: 8,
  FAIL_ENTRY: 9,
  INTR: 10,
  SET_TPR: 11,
  TPR_ACCESS: 12,
  NMI: 16,
  INTERNAL_ERROR: 17,
  SYSTEM_EVENT: 24,
  X86_RDMSR: 29,
  X86_WRMSR: 30,
  DIRTY_RING_FULL: 31,
  X86_BUS_LOCK: 33,
  NOTIFY: 37,
} as const;
export type ExitReasonName = keyof typeof EXIT_REASONS;

const NAME_OF = new Map<number, ExitReasonName>(
  (Object.entries(EXIT_REASONS) as [ExitReasonName, number][]).map(([k, v]) => [v, k]),
);

/** "HLT" for 5, "EXIT_99" for a reason this table does not know. */
export function exitReasonName(code: number): ExitReasonName | `EXIT_${number}` {
  return NAME_OF.get(code) ?? `EXIT_${code}`;
}

export const IO_DIRECTION = { in: 0, out: 1 } as const;

export interface IoExit {
  direction: "in" | "out";
  size: number;
  port: number;
  count: number;
  dataOffset: number;
  /** A copy of the count*size bytes at run + dataOffset (OUT data, or the IN buffer). */
  data: Uint8Array;
}
export interface MmioExit {
  physAddr: bigint;
  data: Uint8Array;
  len: number;
  isWrite: boolean;
}
export interface MsrExit {
  error: number;
  /** KVM_MSR_EXIT_REASON_* (1 inval, 2 unknown, 4 filter). */
  reason: number;
  index: number;
  data: bigint;
}
export interface FailEntryExit {
  hardwareEntryFailureReason: bigint;
  cpu: number;
}
export interface InternalExit {
  suberror: number;
  data: bigint[];
}
export interface SystemEventExit {
  type: number;
  data: bigint[];
}

/** The payload of each exit that has one, by reason. */
interface ExitPayloads {
  io: IoExit;
  mmio: MmioExit;
  msr: MsrExit;
  failEntry: FailEntryExit;
  internal: InternalExit;
  systemEvent: SystemEventExit;
}

/** One exit: its reason, its code, and only its own payload (the others are absent, so `exit.io?.port` reads anywhere). */
type Exit<R extends string, P extends keyof ExitPayloads | never = never> = { code: number; reason: R } & {
  [K in P]: ExitPayloads[K];
} & {
  [K in Exclude<keyof ExitPayloads, P>]?: undefined;
};

type PayloadReason = "IO" | "MMIO" | "X86_RDMSR" | "X86_WRMSR" | "FAIL_ENTRY" | "INTERNAL_ERROR" | "SYSTEM_EVENT";

/**
 * What KVM_RUN returned, as a union on `reason` (rust-vmm kvm-ioctls' `enum VcpuExit`): narrowing on the reason
 * gives its payload; a code this table does not know is `EXIT_<code>`.
 */
export type VcpuExit =
  | Exit<"IO", "io">
  | Exit<"MMIO", "mmio">
  | Exit<"X86_RDMSR" | "X86_WRMSR", "msr">
  | Exit<"FAIL_ENTRY", "failEntry">
  | Exit<"INTERNAL_ERROR", "internal">
  | Exit<"SYSTEM_EVENT", "systemEvent">
  | Exit<Exclude<ExitReasonName, PayloadReason>>
  | Exit<`EXIT_${number}`>;

function u64s(dv: DataView, at: number, n: number, max: number): bigint[] {
  const out: bigint[] = [];
  for (let i = 0; i < Math.min(n, max); i++) out.push(dv.getBigUint64(at + i * 8, true));
  return out;
}

/** Decodes the kvm_run page (or at least its first KVM_RUN.size bytes plus any IO data). */
export function decodeExit(run: Uint8Array): VcpuExit {
  const dv = new DataView(run.buffer, run.byteOffset, run.byteLength);
  const code = dv.getUint32(KVM_RUN.exitReason, true);
  switch (code) {
    case EXIT_REASONS.IO: {
      const L = KVM_RUN.io;
      const size = dv.getUint8(L.size);
      const count = dv.getUint32(L.count, true);
      const dataOffset = Number(dv.getBigUint64(L.dataOffset, true));
      const len = size * count;
      const data = dataOffset + len <= run.byteLength ? run.slice(dataOffset, dataOffset + len) : new Uint8Array(0);
      const io: IoExit = {
        direction: dv.getUint8(L.direction) === IO_DIRECTION.out ? "out" : "in",
        size,
        port: dv.getUint16(L.port, true),
        count,
        dataOffset,
        data,
      };
      return { code, reason: "IO", io };
    }
    case EXIT_REASONS.MMIO: {
      const L = KVM_RUN.mmio;
      const mmio: MmioExit = {
        physAddr: dv.getBigUint64(L.physAddr, true),
        data: run.slice(L.data, L.data + L.dataBytes),
        len: dv.getUint32(L.len, true),
        isWrite: dv.getUint8(L.isWrite) !== 0,
      };
      return { code, reason: "MMIO", mmio };
    }
    case EXIT_REASONS.X86_RDMSR:
    case EXIT_REASONS.X86_WRMSR: {
      const L = KVM_RUN.msr;
      const msr: MsrExit = {
        error: dv.getUint8(L.error),
        reason: dv.getUint32(L.reason, true),
        index: dv.getUint32(L.index, true),
        data: dv.getBigUint64(L.data, true),
      };
      return { code, reason: code === EXIT_REASONS.X86_RDMSR ? "X86_RDMSR" : "X86_WRMSR", msr };
    }
    case EXIT_REASONS.FAIL_ENTRY:
      return {
        code,
        reason: "FAIL_ENTRY",
        failEntry: {
          hardwareEntryFailureReason: dv.getBigUint64(KVM_RUN.failEntry.reason, true),
          cpu: dv.getUint32(KVM_RUN.failEntry.cpu, true),
        },
      };
    case EXIT_REASONS.INTERNAL_ERROR: {
      const L = KVM_RUN.internal;
      return {
        code,
        reason: "INTERNAL_ERROR",
        internal: {
          suberror: dv.getUint32(L.suberror, true),
          data: u64s(dv, L.data, dv.getUint32(L.ndata, true), L.maxData),
        },
      };
    }
    case EXIT_REASONS.SYSTEM_EVENT: {
      const L = KVM_RUN.systemEvent;
      return {
        code,
        reason: "SYSTEM_EVENT",
        systemEvent: {
          type: dv.getUint32(L.type, true),
          data: u64s(dv, L.data, dv.getUint32(L.ndata, true), L.maxData),
        },
      };
    }
  }
  // every other reason carries no payload here
  return { code, reason: exitReasonName(code) } as VcpuExit;
}

/** Writes the user-space reply to an X86_RDMSR/WRMSR exit: error 1 injects #GP; data is what RDMSR returns. */
export function writeMsrReply(run: Uint8Array, reply: { error: boolean; data?: bigint }): void {
  const dv = new DataView(run.buffer, run.byteOffset, run.byteLength);
  dv.setUint8(KVM_RUN.msr.error, reply.error ? 1 : 0);
  if (reply.data !== undefined) dv.setBigUint64(KVM_RUN.msr.data, BigInt.asUintN(64, reply.data), true);
}
