// The libc calls cpuprof needs, over bun:ffi. The only file that calls dlopen.
import { dlopen, FFIType, ptr, read, toArrayBuffer, type Pointer } from "bun:ffi";

export const O_RDWR = 2;
export const O_CLOEXEC = 0x80000;
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const MAP_SHARED = 1;
export const MAP_ANONYMOUS = 0x20;
export const CLOCK_MONOTONIC = 1;
export const SIG_BLOCK = 0;
export const SIG_SETMASK = 2;
export const SIGALRM = 14;
export const EAGAIN = 11;
let lib: ReturnType<typeof load> | undefined;

// Every symbol bound costs start-up time (Bun compiles a trampoline for each, about 12 us here), so all
// calls but ioctl go through one, libc's syscall(), with the x86_64 system call numbers below (this also
// frees the run watchdog from glibc version limits: libc.so.6 has timer_create only since glibc 2.34).
function load() {
  return dlopen("libc.so.6", {
    // ioctl is variadic; on x86-64 SysV an integer or pointer third argument travels in the same register.
    ioctl: { args: [FFIType.i32, FFIType.u64, FFIType.ptr], returns: FFIType.i32 },
    // So is syscall(): any argument slot takes a buffer, null or an integer. It returns a long (mmap's address
    // fits in a double), -1 with errno on failure.
    syscall: {
      args: [FFIType.i64, FFIType.ptr, FFIType.ptr, FFIType.ptr, FFIType.ptr, FFIType.ptr, FFIType.ptr],
      returns: FFIType.i64_fast,
    },
    __errno_location: { args: [], returns: FFIType.ptr },
  });
}

function libc() {
  lib ??= load();
  return lib.symbols;
}

/** x86_64 system call numbers (arch/x86/entry/syscalls/syscall_64.tbl). */
const SYS = {
  read: 0,
  write: 1,
  open: 2,
  close: 3,
  mmap: 9,
  munmap: 11,
  rt_sigprocmask: 14,
  access: 21,
  rt_sigtimedwait: 128,
  gettid: 186,
  timer_create: 222,
  timer_settime: 223,
  timer_delete: 226,
  exit_group: 231,
} as const;

/** The kernel's sigset_t: signals 1-64, the size the rt_sig* calls take. */
const KERNEL_SIGSET_BYTES = 8;

type SyscallArg = Uint8Array | number | null;

function sys(
  nr: number,
  a: SyscallArg = null,
  b: SyscallArg = null,
  c: SyscallArg = null,
  d: SyscallArg = null,
  e: SyscallArg = null,
  f: SyscallArg = null,
): number {
  // Numbers travel as the pointer-sized integers they are (the casts only tell TypeScript so).
  type P = Pointer | null;
  return Number(libc().syscall(nr, a as P, b as P, c as P, d as P, e as P, f as P));
}

function errno(): number {
  const p = libc().__errno_location();
  return p === null ? 0 : read.i32(p, 0);
}

/** A call's result: value >= 0, or -1 with errno. */
export interface SysResult {
  value: number;
  errno: number;
}

function result(value: number): SysResult {
  return value < 0 ? { value, errno: errno() } : { value, errno: 0 };
}

export function sysOpen(path: string, flags: number): SysResult {
  const bytes = new TextEncoder().encode(`${path}\0`);
  return result(sys(SYS.open, bytes, flags));
}

/** read(2) into `buf` from `offset`: the byte count (0 at end of file), or -1 with errno. */
export function sysRead(fd: number, buf: Uint8Array, offset = 0): SysResult {
  if (offset >= buf.byteLength) return { value: 0, errno: 0 };
  return result(sys(SYS.read, fd, buf.subarray(offset), buf.byteLength - offset));
}

/** write(2) of `bytes` from `offset`: the byte count written, or -1 with errno. */
export function sysWrite(fd: number, bytes: Uint8Array, offset = 0): SysResult {
  if (offset >= bytes.byteLength) return { value: 0, errno: 0 };
  return result(sys(SYS.write, fd, bytes.subarray(offset), bytes.byteLength - offset));
}

/** access(2) with F_OK: 0 when the path exists (symlinks followed), or -1 with errno. */
export function sysAccess(path: string): SysResult {
  return result(sys(SYS.access, new TextEncoder().encode(`${path}\0`), 0));
}

/** exit_group(2): ends the process at once, without the runtime's shutdown. */
export function sysExitGroup(code: number): never {
  sys(SYS.exit_group, code);
  throw new Error("exit_group returned");
}

export function sysClose(fd: number): SysResult {
  return result(sys(SYS.close, fd));
}

/** ioctl with a buffer (the kernel reads or writes it), an integer argument, or none. */
export function sysIoctl(fd: number, request: number, arg: Uint8Array | number | null = null): SysResult {
  const a = typeof arg === "number" ? (arg as unknown as Pointer) : arg;
  return result(libc().ioctl(fd, request, a));
}

/** The address of a buffer, for structs that carry a pointer (the MSR filter's bitmaps). Keep the buffer alive. */
export function addressOf(buf: Uint8Array): bigint {
  return BigInt(ptr(buf));
}

export interface Mapping {
  address: bigint;
  bytes: ArrayBuffer;
}

export function sysMmap(length: number, prot: number, flags: number, fd: number): { mapping?: Mapping; errno: number } {
  const addr = sys(SYS.mmap, null, length, prot, flags, fd, 0);
  if (addr < 0) return { errno: errno() };
  return { mapping: { address: BigInt(addr), bytes: toArrayBuffer(addr as Pointer, 0, length) }, errno: 0 };
}

export function sysMunmap(address: bigint, length: number): SysResult {
  return result(sys(SYS.munmap, Number(address), length));
}

export function sysGettid(): number {
  return sys(SYS.gettid);
}

/** timer_create(clock, sigevent): the kernel's id of the new timer, or errno. */
export function sysTimerCreate(clock: number, sigevent: Uint8Array): { timer?: number; errno: number } {
  const out = new Uint8Array(8); // the kernel writes an int timer_t
  const r = sys(SYS.timer_create, clock, sigevent, out);
  return r < 0 ? { errno: errno() } : { timer: new Int32Array(out.buffer)[0]!, errno: 0 };
}

/** timer_settime(timer, 0, itimerspec, old): with `old`, the kernel writes there what the timer had left. */
export function sysTimerSettime(timer: number, itimerspec: Uint8Array, old: Uint8Array | null = null): SysResult {
  return result(sys(SYS.timer_settime, timer, 0, itimerspec, old));
}

export function sysTimerDelete(timer: number): SysResult {
  return result(sys(SYS.timer_delete, timer));
}

/**
 * rt_sigprocmask(how, set) for this thread: its previous mask in a buffer of `oldSize` bytes (glibc's sigset_t
 * size; the kernel fills the first 8), or errno. Only the first 8 bytes of `set` count.
 */
export function sysSigmask(how: number, set: Uint8Array, oldSize: number): { old?: Uint8Array; errno: number } {
  const old = new Uint8Array(Math.max(oldSize, KERNEL_SIGSET_BYTES));
  const r = sys(SYS.rt_sigprocmask, how, set, old, KERNEL_SIGSET_BYTES);
  return r === 0 ? { old, errno: 0 } : { errno: errno() };
}

/** sigtimedwait(set, NULL, timeout): the signal taken from the pending set, or -1 with errno (EAGAIN: none). */
export function sysSigtimedwait(set: Uint8Array, timespec: Uint8Array): SysResult {
  return result(sys(SYS.rt_sigtimedwait, set, null, timespec, KERNEL_SIGSET_BYTES));
}
