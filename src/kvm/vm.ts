// Vm: a VM fd and its ioctls. It also disposes the vCPUs it created, so one `using` releases all.
import { OwnedFd } from "./fd.ts";
import {
  MSR_FILTER,
  MSR_FILTER_DEFAULT_ALLOW,
  MSR_FILTER_RANGE,
  encodeEnableCap,
  encodeMemoryRegion,
  encodeMsrFilter,
  type MsrFilter,
} from "./layout.ts";
import { addressOf } from "./libc.ts";
import type { GuestMemory } from "./memory.ts";
import { Vcpu } from "./vcpu.ts";

export interface MemorySlot {
  slot: number;
  guestPhysAddr: bigint;
  memory: GuestMemory;
  /** MEM_LOG_DIRTY_PAGES | MEM_READONLY */
  flags?: number;
}

export class Vm implements Disposable {
  readonly #fd: OwnedFd;
  readonly #vcpus: Vcpu[] = [];
  /** Whether KVM_X86_SET_MSR_FILTER was ever issued on this VM (before that, KVM allows every MSR). */
  #msrFilterSet = false;

  private constructor(
    fd: number,
    readonly vcpuMmapSize: number,
  ) {
    this.#fd = new OwnedFd(fd, "VM fd");
  }

  /** Takes ownership of a VM fd from KVM_CREATE_VM. */
  static adopt(fd: number, vcpuMmapSize: number): Vm {
    return new Vm(fd, vcpuMmapSize);
  }

  get disposed(): boolean {
    return this.#fd.disposed;
  }

  checkExtension(cap: number): number {
    return this.#fd.ioctl("KVM_CHECK_EXTENSION", cap);
  }

  setUserMemoryRegion(slot: MemorySlot): void {
    const region = encodeMemoryRegion({
      slot: slot.slot,
      flags: slot.flags ?? 0,
      guestPhysAddr: slot.guestPhysAddr,
      memorySize: BigInt(slot.memory.size),
      userspaceAddr: slot.memory.address,
    });
    this.#fd.ioctl("KVM_SET_USER_MEMORY_REGION", region);
  }

  setTssAddr(guestPhysAddr: number): void {
    this.#fd.ioctl("KVM_SET_TSS_ADDR", guestPhysAddr);
  }

  enableCap(cap: number, args: readonly bigint[] = []): void {
    this.#fd.ioctl("KVM_ENABLE_CAP", encodeEnableCap(cap, args));
  }

  /**
   * Installs the filter; the bitmaps travel in the same buffer, which stays referenced through the call.
   * On a VM that never had one, an allow-all filter without ranges is what KVM already applies (every range
   * with nmsrs 0 is ignored): the ioctl, and the SRCU grace period it waits for, is then left out.
   */
  setMsrFilter(filter: MsrFilter): void {
    if (!this.#msrFilterSet && isAllowAll(filter)) return;
    this.#msrFilterSet = true;
    const buf = encodeMsrFilter(filter);
    if (filter.ranges.length > 0) {
      // Offsets from the buffer's start become pointers into it.
      const base = addressOf(buf);
      const quads = new BigUint64Array(buf.buffer, 0, MSR_FILTER.size >>> 3);
      for (let i = 0; i < filter.ranges.length; i++) {
        const at = (MSR_FILTER.ranges + i * MSR_FILTER_RANGE.size + MSR_FILTER_RANGE.bitmap) >>> 3;
        quads[at] = quads[at]! + base;
      }
    }
    this.#fd.ioctl("KVM_X86_SET_MSR_FILTER", buf);
    keepAlive(buf);
  }

  createVcpu(id: number): Vcpu {
    const vcpu = Vcpu.adopt(this.#fd.ioctl("KVM_CREATE_VCPU", id), id, this.vcpuMmapSize);
    this.#vcpus.push(vcpu);
    return vcpu;
  }

  dispose(): void {
    for (const v of this.#vcpus.splice(0)) v.dispose();
    this.#fd.dispose();
  }

  /**
   * As dispose(), but the VM fd is closed on the runtime's I/O threads: the kernel's VM teardown (most of
   * the cost of a short-lived VM) overlaps with the caller's next work. The vCPU fds close here, first:
   * each only drops a reference to the VM, so the teardown still comes with the last one, the VM fd's.
   * The VM is unusable at once; backgroundClosesSettled() (fd.ts) waits for the close.
   */
  disposeInBackground(): void {
    for (const v of this.#vcpus.splice(0)) v.dispose();
    this.#fd.disposeInBackground();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

/** A filter that denies nothing: default allow, and no range that covers an MSR. */
function isAllowAll(filter: MsrFilter): boolean {
  if (filter.flags !== MSR_FILTER_DEFAULT_ALLOW) return false;
  for (const r of filter.ranges) if (r.nmsrs !== 0) return false;
  return true;
}

/** Keeps a buffer reachable until this point, so the GC cannot free memory the kernel was given a pointer to. */
function keepAlive(_buf: Uint8Array): void {}
