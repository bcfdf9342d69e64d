// The few POSIX calls every command's start-up path makes, without node:fs: linking node:fs costs
// about 0.85 ms of a cold process (a twentieth of `verify host`), and libc is already bound for KVM.
// Here, beside the KVM layer, because FFI lives only in src/kvm; a second entry point (not index.ts)
// so a command that runs no guest does not load the KVM layer to print.
import { ERRNO, errnoName } from "./errno.ts";
import { sysAccess, sysClose, sysExitGroup, sysIoctl, sysOpen, sysRead, sysWrite, O_CLOEXEC } from "./libc.ts";

const O_RDONLY = 0;
/** ioctl TCGETS: succeeds exactly on a terminal (what isatty(3) asks). */
const TCGETS = 0x5401;
/** struct termios (kernel layout): 36 bytes; room to spare. */
const TERMIOS_BYTES = 64;

/** A failed call, as an Error whose `code` is the errno name (the shape node:fs errors have). */
export class PosixError extends Error {
  constructor(
    readonly syscall: string,
    readonly errno: number,
  ) {
    super(`${errnoName(errno)}: ${syscall} failed`);
  }

  get code(): string {
    return errnoName(this.errno);
  }
}

/**
 * Writes the whole of `bytes` to `fd`, retrying EINTR and short writes; `onAgain` is called on EAGAIN
 * (a non-blocking pipe that is full) before the write is retried. Throws PosixError otherwise.
 */
export function writeFully(fd: number, bytes: Uint8Array, onAgain: () => void): void {
  let off = 0;
  while (off < bytes.byteLength) {
    const r = sysWrite(fd, bytes, off);
    if (r.value >= 0) off += r.value;
    else if (r.errno === ERRNO.EAGAIN) onAgain();
    else if (r.errno !== ERRNO.EINTR) throw new PosixError("write", r.errno);
  }
}

/** A kernel text file (/proc, /sys) read whole, as UTF-8; null when it cannot be opened or read. */
export function readKernelText(path: string): string | null {
  const opened = sysOpen(path, O_RDONLY | O_CLOEXEC);
  if (opened.value < 0) return null;
  try {
    let buf = new Uint8Array(4096);
    let length = 0;
    for (;;) {
      if (length === buf.byteLength) {
        const bigger = new Uint8Array(buf.byteLength * 2);
        bigger.set(buf);
        buf = bigger;
      }
      const r = sysRead(opened.value, buf, length);
      if (r.value === 0) break;
      if (r.value > 0) length += r.value;
      else if (r.errno !== ERRNO.EINTR) return null;
    }
    return new TextDecoder().decode(buf.subarray(0, length));
  } finally {
    sysClose(opened.value);
  }
}

/** True when something exists at `path` (symlinks followed), as node's existsSync. */
export function pathExists(path: string): boolean {
  return path.length > 0 && !path.includes("\0") && sysAccess(path).value === 0;
}

/** True when `fd` is a terminal. */
export function isTty(fd: number): boolean {
  return sysIoctl(fd, TCGETS, new Uint8Array(TERMIOS_BYTES)).value === 0;
}

/**
 * Ends the process with `code` at once. Only for when nothing is left to flush: every write made through
 * writeFully has reached the kernel. The runtime's own shutdown (a last garbage collection, exit handlers)
 * was about 0.7 ms of a cold `verify host`.
 */
export function exitNow(code: number): never {
  return sysExitGroup(code);
}
