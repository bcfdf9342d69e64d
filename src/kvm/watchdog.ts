// A time bound on KVM_RUN. A guest that never exits (a loop, a wait for an interrupt that never
// comes) would keep KVM_RUN, and with it this single-threaded process, blocked for ever. The
// watchdog is KVM's own pattern for kicking a vCPU out: a per-thread timer signal that the thread
// keeps blocked, and that KVM_SET_SIGNAL_MASK unblocks only while the vCPU runs guest code. When
// the time is up, the pending signal makes KVM_RUN return EINTR (an INTR exit); it is never
// delivered to a handler, and expired() takes it off the pending set.
// The clock counts guest time only: run() arms the timer with what is left of the budget right
// before KVM_RUN and disarms it right after, so a stall of this process between runs (a GC pause,
// SIGSTOP, a loaded machine) is never blamed on the guest. The disarm hands back what was left,
// which is the new budget, and tells whether the timer fired: two system calls per run.
import { KvmError } from "./error.ts";
import {
  ITIMERSPEC,
  SIGNAL_MASK,
  SIGSET,
  decodeSigset,
  encodeOneShotItimerspec,
  encodeSigset,
  encodeThreadSigevent,
  encodeTimespec,
  itimerspecValueMs,
  writeOneShotItimerspec,
} from "./layout.ts";
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
import type { VcpuExit } from "./exit.ts";
import type { Vcpu } from "./vcpu.ts";

/** The watchdog's signal: thread-directed and blocked outside KVM_RUN, so no handler ever runs. */
export const WATCHDOG_SIGNAL = SIGALRM;

const SIGNAL_SET = encodeSigset([WATCHDOG_SIGNAL]);
const NO_WAIT = encodeTimespec(0);
/** A zero it_value disarms a POSIX timer. */
const DISARM = encodeOneShotItimerspec(0);

export class RunWatchdog implements Disposable {
  readonly #timer: number;
  readonly #previousMask: Uint8Array;
  readonly #vcpu: Vcpu;
  #remainingMs: number;
  #fired = false;
  #disposed = false;
  /** The itimerspec each run arms with, and the one the disarm writes the time left into. */
  readonly #arm = new Uint8Array(ITIMERSPEC.size);
  readonly #left = new Uint8Array(ITIMERSPEC.size);

  private constructor(
    vcpu: Vcpu,
    timer: number,
    previousMask: Uint8Array,
    /** The budget, for messages. */
    readonly limitMs: number,
  ) {
    this.#vcpu = vcpu;
    this.#timer = timer;
    this.#previousMask = previousMask;
    this.#remainingMs = limitMs;
  }

  /**
   * Bounds the KVM_RUNs of `vcpu` made through run() on this thread to `limitMs` of guest time in
   * total. Blocks the signal in this thread until dispose(), which restores the previous mask.
   */
  static start(vcpu: Vcpu, limitMs: number): RunWatchdog {
    const blocked = sysSigmask(SIG_BLOCK, SIGNAL_SET, SIGSET.size);
    if (!blocked.old) throw new KvmError("rt_sigprocmask", blocked.errno);
    const previousMask = blocked.old;
    let timer: number | undefined;
    try {
      // While guest code runs: the thread's usual mask, with the watchdog's signal let through.
      vcpu.setSignalMask(
        decodeSigset(previousMask.subarray(0, SIGNAL_MASK.kernelSigsetBytes)).filter((s) => s !== WATCHDOG_SIGNAL),
      );
      const created = sysTimerCreate(CLOCK_MONOTONIC, encodeThreadSigevent(WATCHDOG_SIGNAL, sysGettid()));
      if (created.timer === undefined) throw new KvmError("timer_create", created.errno);
      timer = created.timer;
      // Created unarmed: the clock starts in run(), right before KVM_RUN.
      return new RunWatchdog(vcpu, timer, previousMask, limitMs);
    } catch (e) {
      if (timer !== undefined) sysTimerDelete(timer);
      drainSignal();
      sysSigmask(SIG_SETMASK, previousMask, SIGSET.size);
      throw e;
    }
  }

  /** One KVM_RUN with the clock running only around it. */
  run(): VcpuExit {
    // An exhausted budget still arms (1 us): KVM_RUN then returns at once with an INTR exit.
    writeOneShotItimerspec(this.#arm, Math.max(this.#remainingMs, 0.001));
    const armed = sysTimerSettime(this.#timer, this.#arm);
    if (armed.value < 0) throw new KvmError("timer_settime", armed.errno);
    try {
      return this.#vcpu.run();
    } finally {
      // The disarm is atomic with expiry: time left means the timer has not fired and sent nothing; none left
      // means it fired, and its signal is taken here (newer kernels drop the signal of a timer set again, older
      // ones keep it pending: either way none is left behind). A failed disarm counts as the time being up.
      const disarmed = sysTimerSettime(this.#timer, DISARM, this.#left);
      this.#remainingMs = disarmed.value < 0 ? 0 : itimerspecValueMs(this.#left);
      if (this.#remainingMs <= 0) {
        this.#fired = true;
        drainSignal();
      }
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
