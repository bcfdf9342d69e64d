// An owned file descriptor: closed exactly once, by dispose() or `using`.
import { ERRNO } from "./errno.ts";
import { KvmError } from "./error.ts";
import { KVM_IOCTLS, type IoctlName } from "./ioctls.ts";
import { sysClose, sysCloseOnThread, sysIoctl, sysJoinThread, type SysResult, type ThreadHandle } from "./libc.ts";

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
   * Closes the fd on a thread of its own and returns at once: closing a VM fd destroys the VM in the kernel
   * (0.4-0.8 ms here), which then overlaps with what the caller does next. Where no thread can be started,
   * the fd closes here. backgroundClosesSettled() waits for every such close; each call also reaps the
   * closes an earlier call started, so a process that runs many VMs keeps at most one thread at a time.
   */
  disposeInBackground(): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    joinClosingThreads();
    const thread = sysCloseOnThread(fd);
    if (thread === null) sysClose(fd);
    else closingThreads.push(thread);
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

const closingThreads: ThreadHandle[] = [];

function joinClosingThreads(): void {
  for (const t of closingThreads.splice(0)) sysJoinThread(t);
}

/**
 * Resolves once every disposeInBackground() close has completed (the fds are closed when it resolves): at once
 * when none was started, else on a later turn, after joining their threads.
 */
export function backgroundClosesSettled(): Promise<void> {
  if (closingThreads.length === 0) return Promise.resolve();
  return new Promise((resolve) =>
    setImmediate(() => {
      joinClosingThreads();
      resolve();
    }),
  );
}
