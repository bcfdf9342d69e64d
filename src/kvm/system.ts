// Kvm: the /dev/kvm system fd and its ioctls.
import type { CpuidEntry } from "../model/cpuid.ts";
import { EnvironmentError } from "../errors.ts";
import { KVM_API_VERSION } from "./caps.ts";
import { ERRNO, describeErrno } from "./errno.ts";
import { KvmError } from "./error.ts";
import { OwnedFd } from "./fd.ts";
import type { IoctlName } from "./ioctls.ts";
import {
  CPUID2,
  CPUID_ENTRY2,
  KVM_MAX_CPUID_ENTRIES,
  MSR_LIST,
  decodeCpuid2,
  decodeMsrList,
  decodeMsrs,
  encodeMsrs,
  type MsrValue,
} from "./layout.ts";
import { O_CLOEXEC, O_RDWR, sysOpen } from "./libc.ts";
import { Vm } from "./vm.ts";

export const DEFAULT_KVM_PATH = "/dev/kvm";
/** Upper bound for grow-and-retry of CPUID tables: far above KVM's 256, so a bigger future table still fits. */
const MAX_CPUID_ENTRIES = 4096;
/** Upper bound for MSR lists, so a misbehaving kernel cannot make us loop. */
const MAX_MSR_LIST = 65536;

/** One line per open() failure a user can fix. */
const OPEN_HINTS: Record<number, (path: string) => string> = {
  [ERRNO.ENOENT]: (p) => `no ${p}: KVM is not available (load kvm_intel or kvm_amd, or enable virtualisation)`,
  [ERRNO.ENXIO]: (p) => `no ${p}: KVM is not available (load kvm_intel or kvm_amd, or enable virtualisation)`,
  [ERRNO.ENODEV]: (p) => `no ${p}: KVM is not available (load kvm_intel or kvm_amd, or enable virtualisation)`,
  [ERRNO.EACCES]: (p) => `permission denied on ${p}: run as root or join the group that owns it (often "kvm")`,
  [ERRNO.EPERM]: (p) => `permission denied on ${p}: run as root or join the group that owns it (often "kvm")`,
};

/** Entries the first KVM_GET_MSR_INDEX_LIST / _FEATURE_INDEX_LIST asks room for: KVM lists a few dozen to a few hundred. */
const MSR_LIST_FIRST_TRY = 1024;

export class Kvm implements Disposable {
  readonly #fd: OwnedFd;

  private constructor(
    fd: number,
    readonly path: string,
  ) {
    this.#fd = new OwnedFd(fd, path);
  }

  /** Opens the system fd and checks the API version; EnvironmentError with a hint when that is impossible. */
  static open(path = DEFAULT_KVM_PATH): Kvm {
    const r = sysOpen(path, O_RDWR | O_CLOEXEC);
    if (r.value < 0) {
      const hint = OPEN_HINTS[r.errno];
      throw hint
        ? new EnvironmentError(`${hint(path)} [${describeErrno(r.errno)}]`)
        : new KvmError(`open ${path}`, r.errno);
    }
    const kvm = new Kvm(r.value, path);
    try {
      const version = kvm.apiVersion();
      if (version !== KVM_API_VERSION)
        throw new EnvironmentError(`${path}: KVM API version ${version}, expected ${KVM_API_VERSION}`);
      return kvm;
    } catch (e) {
      kvm.dispose();
      throw e;
    }
  }

  get disposed(): boolean {
    return this.#fd.disposed;
  }

  apiVersion(): number {
    return this.#fd.ioctl("KVM_GET_API_VERSION");
  }

  /** 0 when absent, otherwise 1 or the capability's value. */
  checkExtension(cap: number): number {
    return this.#fd.ioctl("KVM_CHECK_EXTENSION", cap);
  }

  vcpuMmapSize(): number {
    return this.#fd.ioctl("KVM_GET_VCPU_MMAP_SIZE");
  }

  supportedCpuid(): CpuidEntry[] {
    return this.#cpuidTable("KVM_GET_SUPPORTED_CPUID");
  }

  emulatedCpuid(): CpuidEntry[] {
    return this.#cpuidTable("KVM_GET_EMULATED_CPUID");
  }

  // KVM leaves nent unchanged on E2BIG, so grow by doubling. The buffer is zero-filled,
  // which EMULATED_CPUID requires of the entries' padding.
  #cpuidTable(name: IoctlName): CpuidEntry[] {
    for (let nent = KVM_MAX_CPUID_ENTRIES; ; nent *= 2) {
      const buf = new Uint8Array(CPUID2.header + nent * CPUID_ENTRY2.size);
      new DataView(buf.buffer).setUint32(CPUID2.nent, nent, true);
      const r = this.#fd.tryIoctl(name, buf);
      if (r.value >= 0) return decodeCpuid2(buf);
      if (r.errno === ERRNO.EINTR) {
        nent /= 2;
        continue;
      }
      if (r.errno !== ERRNO.E2BIG || nent >= MAX_CPUID_ENTRIES) throw new KvmError(name, r.errno);
    }
  }

  msrIndexList(): number[] {
    return this.#msrList("KVM_GET_MSR_INDEX_LIST");
  }

  msrFeatureIndexList(): number[] {
    return this.#msrList("KVM_GET_MSR_FEATURE_INDEX_LIST");
  }

  // E2BIG writes the needed count back into nmsrs: ask with room for MSR_LIST_FIRST_TRY (one ioctl on the
  // hosts we know of), then with the count KVM wrote back.
  #msrList(name: IoctlName): number[] {
    let n = MSR_LIST_FIRST_TRY;
    for (let attempt = 0; attempt < 8; attempt++) {
      const buf = new Uint8Array(MSR_LIST.header + n * 4);
      const dv = new DataView(buf.buffer);
      dv.setUint32(MSR_LIST.nmsrs, n, true);
      const r = this.#fd.tryIoctl(name, buf);
      if (r.value >= 0) return decodeMsrList(buf);
      if (r.errno === ERRNO.EINTR) continue;
      const wanted = dv.getUint32(MSR_LIST.nmsrs, true);
      if (r.errno !== ERRNO.E2BIG || wanted <= n || wanted > MAX_MSR_LIST) throw new KvmError(name, r.errno);
      n = wanted;
    }
    throw new KvmError(name, ERRNO.E2BIG, "the list kept growing");
  }

  /** Feature-MSR values via KVM_GET_MSRS on the system fd. Stops at the first index KVM refuses: returns those done. */
  getFeatureMsrs(indices: readonly number[]): MsrValue[] {
    if (indices.length === 0) return [];
    const buf = encodeMsrs(indices.map((index) => ({ index, value: 0n })));
    const done = this.#fd.ioctl("KVM_GET_MSRS", buf);
    return decodeMsrs(buf, done);
  }

  createVm(type = 0): Vm {
    const mmapSize = this.vcpuMmapSize();
    return Vm.adopt(this.#fd.ioctl("KVM_CREATE_VM", type), mmapSize);
  }

  dispose(): void {
    this.#fd.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
