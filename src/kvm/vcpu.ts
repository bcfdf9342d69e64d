// Vcpu: a vCPU fd, its kvm_run page, and its ioctls.
import type { CpuidEntry } from "../model/cpuid.ts";
import { ERRNO } from "./errno.ts";
import { KvmError } from "./error.ts";
import { EXIT_REASONS, decodeExit, writeMsrReply, type VcpuExit } from "./exit.ts";
import { OwnedFd } from "./fd.ts";
import {
  CPUID2,
  CPUID_ENTRY2,
  KVM_MAX_CPUID_ENTRIES,
  KVM_RUN,
  REGS,
  SREGS,
  decodeCpuid2,
  decodeMsrs,
  decodeRegs,
  decodeSregs,
  encodeCpuid2,
  encodeEnableCap,
  encodeMsrs,
  encodeRegs,
  encodeSignalMask,
  encodeSregs,
  type KvmRegs,
  type KvmSregs,
  type MsrValue,
} from "./layout.ts";
import { MAP_SHARED, PROT_READ, PROT_WRITE, sysMmap, sysMunmap } from "./libc.ts";

export class Vcpu implements Disposable {
  readonly #fd: OwnedFd;
  #runAddress: bigint;
  #run: Uint8Array | null;

  private constructor(
    fd: OwnedFd,
    readonly id: number,
    runAddress: bigint,
    run: ArrayBuffer,
    readonly mmapSize: number,
  ) {
    this.#fd = fd;
    this.#runAddress = runAddress;
    this.#run = new Uint8Array(run);
  }

  /** Takes ownership of a vCPU fd and maps its kvm_run page; closes the fd if the mapping fails. */
  static adopt(fd: number, id: number, mmapSize: number): Vcpu {
    const owned = new OwnedFd(fd, `vCPU ${id} fd`);
    const m = sysMmap(mmapSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd);
    if (!m.mapping) {
      owned.dispose();
      throw new KvmError("mmap kvm_run", m.errno);
    }
    return new Vcpu(owned, id, m.mapping.address, m.mapping.bytes, mmapSize);
  }

  get disposed(): boolean {
    return this.#run === null;
  }

  get #runPage(): Uint8Array {
    if (!this.#run) throw new Error(`vCPU ${this.id} used after dispose`);
    return this.#run;
  }

  setCpuid2(entries: readonly CpuidEntry[]): void {
    this.#fd.ioctl("KVM_SET_CPUID2", encodeCpuid2(entries));
  }

  /** The vCPU's table as KVM holds it, with its runtime adjustments (OSXSAVE, APIC, XSAVE sizes...). */
  getCpuid2(): CpuidEntry[] {
    const buf = new Uint8Array(CPUID2.header + KVM_MAX_CPUID_ENTRIES * CPUID_ENTRY2.size);
    new DataView(buf.buffer).setUint32(CPUID2.nent, KVM_MAX_CPUID_ENTRIES, true);
    this.#fd.ioctl("KVM_GET_CPUID2", buf);
    return decodeCpuid2(buf);
  }

  /** Reads MSRs as the host (never filtered). Stops at the first failure: returns the ones done. */
  getMsrs(indices: readonly number[]): MsrValue[] {
    if (indices.length === 0) return [];
    const buf = encodeMsrs(indices.map((index) => ({ index, value: 0n })));
    return decodeMsrs(buf, this.#fd.ioctl("KVM_GET_MSRS", buf));
  }

  /** Writes MSRs as the host. Stops at the first refused entry: returns how many were done. */
  setMsrs(entries: readonly MsrValue[]): number {
    if (entries.length === 0) return 0;
    return this.#fd.ioctl("KVM_SET_MSRS", encodeMsrs(entries));
  }

  getRegs(): KvmRegs {
    const buf = new Uint8Array(REGS.size);
    this.#fd.ioctl("KVM_GET_REGS", buf);
    return decodeRegs(buf);
  }

  setRegs(regs: KvmRegs): void {
    this.#fd.ioctl("KVM_SET_REGS", encodeRegs(regs));
  }

  getSregs(): KvmSregs {
    const buf = new Uint8Array(SREGS.size);
    this.#fd.ioctl("KVM_GET_SREGS", buf);
    return decodeSregs(buf);
  }

  setSregs(sregs: KvmSregs): void {
    this.#fd.ioctl("KVM_SET_SREGS", encodeSregs(sregs));
  }

  /** Per-vCPU capabilities (ENFORCE_PV_FEATURE_CPUID). */
  enableCap(cap: number, args: readonly bigint[] = []): void {
    this.#fd.ioctl("KVM_ENABLE_CAP", encodeEnableCap(cap, args));
  }

  /** The signals blocked while this vCPU runs guest code: a signal unblocked here interrupts KVM_RUN (EINTR). */
  setSignalMask(blocked: readonly number[]): void {
    this.#fd.ioctl("KVM_SET_SIGNAL_MASK", encodeSignalMask(blocked));
  }

  /** One KVM_RUN. A signal (EINTR) comes back as an INTR exit rather than an exception. */
  run(): VcpuExit {
    const run = this.#runPage;
    const r = this.#fd.tryIoctl("KVM_RUN");
    if (r.value < 0) {
      if (r.errno === ERRNO.EINTR) return { code: EXIT_REASONS.INTR, reason: "INTR" };
      throw new KvmError("KVM_RUN", r.errno);
    }
    return decodeExit(run);
  }

  /** Replies to an X86_RDMSR/WRMSR exit before the next run(): error injects #GP; data is what RDMSR returns. */
  completeMsrExit(reply: { error: boolean; data?: bigint }): void {
    writeMsrReply(this.#runPage, reply);
  }

  /** Asks the next run() to return at once (EINTR), e.g. to sync state. */
  setImmediateExit(on: boolean): void {
    this.#runPage[KVM_RUN.immediateExit] = on ? 1 : 0;
  }

  dispose(): void {
    this.#unmapRun();
    this.#fd.dispose();
  }

  #unmapRun(): void {
    if (this.#run) {
      this.#run = null;
      sysMunmap(this.#runAddress, this.mmapSize);
    }
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
