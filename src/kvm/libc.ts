// The libc calls cpuprof needs, over bun:ffi. The only file that calls dlopen.
import { dlopen, FFIType, ptr, read, toArrayBuffer, type Pointer } from "bun:ffi";
import { EnvironmentError } from "../errors.ts";

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
/** mmap's (void*)-1. */
const MAP_FAILED = 0xffff_ffff_ffff_ffffn;

let lib: ReturnType<typeof load> | undefined;

function load() {
  return dlopen("libc.so.6", {
    open: { args: [FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
    close: { args: [FFIType.i32], returns: FFIType.i32 },
    // ioctl is variadic; on x86-64 SysV an integer or pointer third argument travels in the same register.
    ioctl: { args: [FFIType.i32, FFIType.u64, FFIType.ptr], returns: FFIType.i32 },
    mmap: {
      args: [FFIType.ptr, FFIType.u64, FFIType.i32, FFIType.i32, FFIType.i32, FFIType.i64],
      returns: FFIType.u64,
    },
    munmap: { args: [FFIType.ptr, FFIType.u64], returns: FFIType.i32 },
    __errno_location: { args: [], returns: FFIType.ptr },
  });
}

function libc() {
  lib ??= load();
  return lib.symbols;
}

// The run watchdog's calls, bound on first use: every binding costs start-up time, and
// commands that run no guest never need these.
let timerLib: ReturnType<typeof loadTimer> | undefined;

function loadTimer() {
  return dlopen("libc.so.6", {
    gettid: { args: [], returns: FFIType.i32 },
    // timer_t is a pointer-sized handle, passed by value.
    timer_create: { args: [FFIType.i32, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
    timer_settime: { args: [FFIType.u64, FFIType.i32, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
    timer_delete: { args: [FFIType.u64], returns: FFIType.i32 },
    // Returns the error number itself (0 on success), not -1 and errno.
    pthread_sigmask: { args: [FFIType.i32, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
    sigtimedwait: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
  });
}

function timerLibc() {
  if (!timerLib) {
    try {
      timerLib = loadTimer();
    } catch (e) {
      // timer_create moved into libc.so.6 with glibc 2.34, gettid arrived in 2.30.
      throw new EnvironmentError(
        `this system's libc lacks what the guest check's time bound needs (gettid, timer_create: glibc 2.34 or later): ${(e as Error).message}`,
      );
    }
  }
  return timerLib.symbols;
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
  return result(libc().open(bytes, flags));
}

export function sysClose(fd: number): SysResult {
  return result(libc().close(fd));
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
  const addr = libc().mmap(null, length, prot, flags, fd, 0);
  const address = BigInt(addr);
  if (address === MAP_FAILED) return { errno: errno() };
  return { mapping: { address, bytes: toArrayBuffer(Number(address) as Pointer, 0, length) }, errno: 0 };
}

export function sysMunmap(address: bigint, length: number): SysResult {
  return result(libc().munmap(Number(address) as Pointer, length));
}

export function sysGettid(): number {
  return timerLibc().gettid();
}

/** timer_create(clock, sigevent): the timer's handle, or errno. */
export function sysTimerCreate(clock: number, sigevent: Uint8Array): { timer?: bigint; errno: number } {
  const out = new BigUint64Array(1);
  const r = timerLibc().timer_create(clock, sigevent, out);
  return r < 0 ? { errno: errno() } : { timer: out[0]!, errno: 0 };
}

/** timer_settime(timer, 0, itimerspec, old): with `old`, the kernel writes there what the timer had left. */
export function sysTimerSettime(timer: bigint, itimerspec: Uint8Array, old: Uint8Array | null = null): SysResult {
  return result(timerLibc().timer_settime(timer, 0, itimerspec, old));
}

export function sysTimerDelete(timer: bigint): SysResult {
  return result(timerLibc().timer_delete(timer));
}

/** pthread_sigmask(how, set): the thread's previous mask (glibc sigset_t bytes), or errno. */
export function sysSigmask(how: number, set: Uint8Array, oldSize: number): { old?: Uint8Array; errno: number } {
  const old = new Uint8Array(oldSize);
  const err = timerLibc().pthread_sigmask(how, set, old);
  return err === 0 ? { old, errno: 0 } : { errno: err };
}

/** sigtimedwait(set, NULL, timeout): the signal taken from the pending set, or -1 with errno (EAGAIN: none). */
export function sysSigtimedwait(set: Uint8Array, timespec: Uint8Array): SysResult {
  return result(timerLibc().sigtimedwait(set, null, timespec));
}
