// The guest check: run the probe image under a vCPU configuration and report what the guest saw.
import { GuestError } from "../errors.ts";
import {
  GuestMemory,
  KVM_CAP,
  Kvm,
  MSR_EXIT_REASON,
  RunWatchdog,
  msrExitReasonName,
  type KvmSregs,
  type MsrExitReasonName,
  type Vcpu,
  type VcpuExit,
  type Vm,
} from "../kvm/index.ts";
import { hex32, hex64 } from "../model/hex.ts";
import {
  GDT_LIMIT,
  IDT_LIMIT,
  checkQueryCounts,
  stoppedOnRdmsr,
  readCpuidResults,
  readMsrResults,
  writeProbeImage,
} from "./image.ts";
import { DONE_PORT, GUEST, GUEST_MEMORY_SIZE, X86 } from "./layout.ts";
import type { GuestConfig, GuestReport, MsrObservation, ProbeQueries } from "./types.ts";
import { configureVcpu, configureVm } from "../vmm/configure.ts";

/** Runs beyond one per MSR query (each may exit once to user space) plus the final one; signals can add a few. */
const EXTRA_RUNS = 16;
/** Where Intel without unrestricted guest wants its TSS hole; harmless elsewhere (kvm-x86.md 2a). */
const TSS_ADDR = 0xfffbd000;
/** Bound on the whole probe's time in guest code; it normally takes 1-5 ms. */
export const DEFAULT_TIME_LIMIT_MS = 5_000;
const USER_SPACE_MSR_MASK = BigInt(MSR_EXIT_REASON.filter | MSR_EXIT_REASON.unknown | MSR_EXIT_REASON.inval);

export interface ProbeOptions {
  /** An open system fd to reuse; otherwise /dev/kvm is opened and closed here. */
  kvm?: Kvm;
  /** Bound on KVM_RUN calls; by default one per MSR query plus a margin. */
  maxRuns?: number;
  /** Bound on the time all KVM_RUN calls may take together (default DEFAULT_TIME_LIMIT_MS). */
  timeLimitMs?: number;
  /** For tests: changes the image after it is written, to make the guest misbehave. */
  alterImage?: (memory: Uint8Array) => void;
  /** For tests: runs after the watchdog is set up and before the first KVM_RUN (e.g. a stall). */
  beforeRuns?: () => void;
  /**
   * false: close the VM on this thread before returning. For a process that runs one check and exits (the
   * CLI): closing in the background would start the runtime's thread pool and link node:fs (~1 ms cold),
   * and the process exits before that thread has closed anything. Default true.
   */
  closeInBackground?: boolean;
  /** For the bench: called as each phase ends (teardown is what follows "read" until the call returns). */
  onPhase?: (phase: ProbePhase) => void;
}

/** The probe's phases, in order: guest memory and image, VM (filter, slot), vCPU, its CPUID/MSR/register set-up, the runs, reading the results. */
export type ProbePhase = "memory" | "vm" | "vcpu" | "setup" | "runs" | "read";

export function runGuestProbe(config: GuestConfig, queries: ProbeQueries, options: ProbeOptions = {}): GuestReport {
  checkQueryCounts(queries);
  const started = performance.now();
  using owned = options.kvm ? undefined : Kvm.open();
  const kvm = options.kvm ?? owned!;
  using mem = GuestMemory.allocate(GUEST_MEMORY_SIZE);
  writeProbeImage(mem.bytes, queries);
  options.alterImage?.(mem.bytes);
  options.onPhase?.("memory");
  const vm = kvm.createVm();
  try {
    return probeIn(vm, mem, config, queries, options, started);
  } finally {
    // By default the VM fd closes on the runtime's I/O threads: the kernel's VM teardown (~0.5 ms here) is
    // resource release after the results are read, and overlaps with what the caller does with them. (The
    // guest memory is unmapped as this returns: deferred to the close's callback, it piled up in a process
    // that runs many probes without returning to its event loop.)
    if (options.closeInBackground === false) vm.dispose();
    else vm.disposeInBackground();
  }
}

function probeIn(
  vm: Vm,
  mem: GuestMemory,
  config: GuestConfig,
  queries: ProbeQueries,
  options: ProbeOptions,
  started: number,
): GuestReport {
  // The filter before the memory slot: KVM_X86_SET_MSR_FILTER waits for an SRCU grace period, which
  // is expedited (tens of µs) on the new VM but takes a normal one (ms, 12-16 ms on a loaded host)
  // when it comes within 25 µs of the slot's own grace period, as it does once the JIT is warm.
  // The same calls a VMM makes with the public API (src/vmm); refused crucial MSRs are reported, not thrown,
  // because the check wants to see what the guest gets anyway.
  configureVm(vm, { msrFilter: config.filter });
  vm.setUserMemoryRegion({ slot: 0, guestPhysAddr: 0n, memory: mem });
  vm.setTssAddr(TSS_ADDR);
  const userSpaceMsr = vm.checkExtension(KVM_CAP.X86_USER_SPACE_MSR) > 0;
  if (userSpaceMsr) vm.enableCap(KVM_CAP.X86_USER_SPACE_MSR, [USER_SPACE_MSR_MASK]);
  options.onPhase?.("vm");
  const vcpu = vm.createVcpu(0);
  options.onPhase?.("vcpu");
  // CPUID first: real KVM checks CR4/EFER bits in SET_SREGS against it.
  const setup = configureVcpu(vcpu, config, { crucial: "report" });
  vcpu.setSregs(longModeSregs(vcpu.getSregs()));
  vcpu.setRegs({ ...vcpu.getRegs(), rip: BigInt(GUEST.code), rsp: BigInt(GUEST.stackTop), rflags: X86.rflags });

  options.onPhase?.("setup");
  // Last before the runs: from here, every KVM_RUN is bounded in time as well as in number.
  using watchdog = RunWatchdog.start(vcpu, options.timeLimitMs ?? DEFAULT_TIME_LIMIT_MS);
  options.beforeRuns?.();
  const exits = new Map<number, MsrExitReasonName>();
  const maxRuns = options.maxRuns ?? queries.msrs.length + EXTRA_RUNS;
  let runs = 0;
  for (;;) {
    if (runs >= maxRuns)
      throw new GuestError(`guest probe did not finish within ${maxRuns} KVM_RUN calls (RIP ${ripOf(vcpu)})`);
    runs++;
    const exit = watchdog.run();
    if (exit.reason === "INTR") {
      if (watchdog.expired())
        throw new GuestError(
          `guest probe did not finish within ${watchdog.limitMs} ms: the guest never exited to cpuprof (RIP ${ripOf(vcpu)}, after ${runs} KVM_RUN calls)`,
        );
      continue;
    }
    if (exit.reason === "X86_RDMSR" && exit.msr) {
      const name = msrExitReasonName(exit.msr.reason);
      if (name) exits.set(exit.msr.index, name);
      // Reply #GP, so the guest sees what a guest under this configuration would see without a VMM handler.
      vcpu.completeMsrExit({ error: true });
      continue;
    }
    if (isDone(exit)) break;
    throw new GuestError(describeStop(exit, vcpu, mem.bytes));
  }

  options.onPhase?.("runs");
  const report: GuestReport = {
    cpuid: readCpuidResults(mem.bytes, queries),
    msrs: readMsrResults(mem.bytes, queries).map((r): MsrObservation => {
      const exit = exits.get(r.index);
      const obs: MsrObservation = r.faulted
        ? { index: r.index, outcome: "fault", value: 0n }
        : r.value === undefined
          ? { index: r.index, outcome: "readable" }
          : { index: r.index, outcome: "value", value: r.value };
      if (exit) obs.exit = exit;
      return obs;
    }),
    runs,
    kvmCpuid: vcpu.getCpuid2(),
    msrsSetDone: setup.firstRefused,
    msrsRefused: setup.refused.map((r) => r.index),
    elapsedMs: 0,
  };
  report.elapsedMs = performance.now() - started;
  options.onPhase?.("read");
  return report;
}

function isDone(exit: VcpuExit): boolean {
  return exit.reason === "IO" && exit.io?.direction === "out" && exit.io.port === DONE_PORT;
}

function ripOf(vcpu: Vcpu): string {
  try {
    return hex64(vcpu.getRegs().rip);
  } catch {
    return "unknown";
  }
}

function describeStop(exit: VcpuExit, vcpu: Vcpu, mem: Uint8Array): string {
  let detail = "";
  try {
    const regs = vcpu.getRegs();
    // A stop on the RDMSR (e.g. a fault the #GP handler could not take) names the MSR: RCX holds its index.
    if (stoppedOnRdmsr(mem, regs.rip)) detail = ` on RDMSR ${hex32(Number(regs.rcx & 0xffffffffn))}`;
  } catch {
    // The registers are only a diagnostic.
  }
  if (exit.io) detail += ` (port ${hex32(exit.io.port)} ${exit.io.direction})`;
  if (exit.mmio) detail += ` (${exit.mmio.isWrite ? "write" : "read"} at ${hex64(exit.mmio.physAddr)})`;
  if (exit.internal) detail += ` (suberror ${exit.internal.suberror})`;
  if (exit.failEntry) detail += ` (hardware reason ${hex64(exit.failEntry.hardwareEntryFailureReason)})`;
  return `guest probe stopped with ${exit.reason} at RIP ${ripOf(vcpu)}${detail}`;
}

/** 64-bit long mode entered directly with paging on (kvm-x86.md 2b). */
function longModeSregs(reset: KvmSregs): KvmSregs {
  const flat = { base: 0n, limit: 0xffffffff, present: 1, dpl: 0, s: 1, g: 1, avl: 0, unusable: 0 };
  const code = { ...flat, selector: X86.codeSelector, type: 11, l: 1, db: 0 };
  const data = { ...flat, selector: X86.dataSelector, type: 3, l: 0, db: 1 };
  return {
    ...reset,
    cs: code,
    ds: data,
    es: data,
    fs: data,
    gs: data,
    ss: data,
    gdt: { base: BigInt(GUEST.gdt), limit: GDT_LIMIT },
    idt: { base: BigInt(GUEST.idt), limit: IDT_LIMIT },
    cr0: X86.cr0,
    cr3: BigInt(GUEST.pml4),
    cr4: X86.cr4,
    efer: X86.efer,
  };
}
