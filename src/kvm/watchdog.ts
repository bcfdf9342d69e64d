// A time bound on KVM_RUN. A guest that never exits (a loop, a wait for an interrupt that never
// comes) would keep KVM_RUN, and with it this single-threaded process, blocked for ever. The
// watchdog is KVM's own pattern for kicking a vCPU out: a per-thread timer signal that the thread
// keeps blocked, and that KVM_SET_SIGNAL_MASK unblocks only while the vCPU runs guest code. When
// the time is up, the pending signal makes KVM_RUN return EINTR (an INTR exit); it is never
// delivered to a handler, and expired() takes it off the pending set.
import { KvmError } from "./error.ts";
import { SIGNAL_MASK, SIGSET, decodeSigset, encodeOneShotItimerspec, encodeSigset, encodeThreadSigevent, encodeTimespec } from "./layout.ts";
import {
  CLOCK_MONOTONIC,
  SIGALRM,
  SIG_BLOCK,
  SIG_SETMASK,
  sysGettid,
  sysSigmask,
  sysSigtimedwait,
  sysTimerCreate,
  sysTimerDelete,
  sysTimerSettime,
} from "./libc.ts";
import type { Vcpu } from "./vcpu.ts";

/** The watchdog's signal: thread-directed and blocked outside KVM_RUN, so no handler ever runs. */
export const WATCHDOG_SIGNAL = SIGALRM;

const SIGNAL_SET = encodeSigset([WATCHDOG_SIGNAL]);
const NO_WAIT = encodeTimespec(0);

export class RunWatchdog implements Disposable {
  readonly #timer: bigint;
  readonly #previousMask: Uint8Array;
  #fired = false;
  #disposed = false;

  private constructor(
    timer: bigint,
    previousMask: Uint8Array,
    /** The budget, for messages. */
    readonly limitMs: number,
  ) {
    this.#timer = timer;
    this.#previousMask = previousMask;
  }

  /**
   * Bounds every KVM_RUN of `vcpu` on this thread to `limitMs` in total from now. Blocks the
   * signal in this thread until dispose(), which restores the previous mask.
   */
  static start(vcpu: Vcpu, limitMs: number): RunWatchdog {
    const blocked = sysSigmask(SIG_BLOCK, SIGNAL_SET, SIGSET.size);
    if (!blocked.old) throw new KvmError("pthread_sigmask", blocked.errno);
    const previousMask = blocked.old;
    let timer: bigint | undefined;
    try {
      // While guest code runs: the thread's usual mask, with the watchdog's signal let through.
      vcpu.setSignalMask(decodeSigset(previousMask.subarray(0, SIGNAL_MASK.kernelSigsetBytes)).filter((s) => s !== WATCHDOG_SIGNAL));
      const created = sysTimerCreate(CLOCK_MONOTONIC, encodeThreadSigevent(WATCHDOG_SIGNAL, sysGettid()));
      if (created.timer === undefined) throw new KvmError("timer_create", created.errno);
      timer = created.timer;
      const armed = sysTimerSettime(timer, encodeOneShotItimerspec(limitMs));
      if (armed.value < 0) throw new KvmError("timer_settime", armed.errno);
      return new RunWatchdog(timer, previousMask, limitMs);
    } catch (e) {
      if (timer !== undefined) sysTimerDelete(timer);
      drainSignal();
      sysSigmask(SIG_SETMASK, previousMask, SIGSET.size);
      throw e;
    }
  }

  /** True once the time is up (checked after an INTR exit); takes the signal off the pending set. */
  expired(): boolean {
    if (!this.#fired && drainSignal()) this.#fired = true;
    return this.#fired;
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    sysTimerDelete(this.#timer);
    drainSignal(); // a signal that fired after the last run must not outlive the watchdog
    sysSigmask(SIG_SETMASK, this.#previousMask, SIGSET.size);
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

/** Takes a pending watchdog signal, if any; true when there was one. */
function drainSignal(): boolean {
  return sysSigtimedwait(SIGNAL_SET, NO_WAIT).value === WATCHDOG_SIGNAL;
}
