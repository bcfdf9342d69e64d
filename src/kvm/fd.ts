// An owned file descriptor: closed exactly once, by dispose() or `using`.
import { ERRNO } from "./errno.ts";
import { KvmError } from "./error.ts";
import { KVM_IOCTLS, type IoctlName } from "./ioctls.ts";
import { sysClose, sysIoctl, type SysResult } from "./libc.ts";

export class OwnedFd implements Disposable {
  #fd: number;

  constructor(
    fd: number,
    readonly what: string,
  ) {
    this.#fd = fd;
  }

  get disposed(): boolean {
    return this.#fd < 0;
  }

  /** The raw fd; throws once disposed, so a stale handle never reaches a reused descriptor number. */
  get fd(): number {
    if (this.#fd < 0) throw new Error(`${this.what} used after dispose`);
    return this.#fd;
  }

  /** Runs the ioctl once; -1 comes back with errno rather than as an exception. */
  tryIoctl(name: IoctlName, arg: Uint8Array | number | null = null): SysResult {
    return sysIoctl(this.fd, KVM_IOCTLS[name], arg);
  }

  /** Runs the ioctl, retrying EINTR, and throws KvmError on failure; returns the ioctl's value. */
  ioctl(name: IoctlName, arg: Uint8Array | number | null = null): number {
    for (;;) {
      const r = this.tryIoctl(name, arg);
      if (r.value >= 0) return r.value;
      if (r.errno !== ERRNO.EINTR) throw new KvmError(name, r.errno);
    }
  }

  dispose(): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    sysClose(fd);
  }

  /**
   * Closes the fd on the runtime's I/O thread pool and returns at once: closing a VM fd destroys the VM
   * in the kernel (about 0.5 ms here), which then overlaps with what the caller does next.
   * backgroundClosesSettled() waits for every such close. node:fs is linked on the first call (~0.85 ms
   * cold): a process that runs one guest and exits closes with dispose() instead.
   */
  disposeInBackground(): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    pendingCloses++;
    process.getBuiltinModule("node:fs").close(fd, () => {
      if (--pendingCloses === 0) for (const w of closeWaiters.splice(0)) w();
    });
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

let pendingCloses = 0;
const closeWaiters: (() => void)[] = [];

/** Resolves once every disposeInBackground() close has completed (at once when none is pending). */
export function backgroundClosesSettled(): Promise<void> {
  return pendingCloses === 0 ? Promise.resolve() : new Promise((resolve) => closeWaiters.push(resolve));
}
