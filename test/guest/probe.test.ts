// The guest check on the real /dev/kvm; skipped with one line where it is absent.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { readdirSync, readFileSync } from "node:fs";
import { GuestError } from "../../src/errors.ts";
import { runGuestProbe } from "../../src/guest/index.ts";
import { GUEST, X86 } from "../../src/guest/layout.ts";
import {
  Kvm,
  MSR_FILTER_DEFAULT_ALLOW,
  backgroundClosesSettled,
  MSR_FILTER_READ,
  WATCHDOG_SIGNAL,
  type MsrFilter,
} from "../../src/kvm/index.ts";
import type { CpuidEntry } from "../../src/model/cpuid.ts";
import { thrown } from "../helpers/thrown.ts";
import { kvmSkipReason } from "../kvm/kvm-device.ts";

const onDevice = kvmSkipReason ? test.skip : test;
const UCODE_REV = 0x8b;
const TSC = 0x10;
const X2APIC = 1 << 21;
const VENDOR = {
  intel: { ebx: 0x756e6547, edx: 0x49656e69, ecx: 0x6c65746e }, // GenuineIntel
  amd: { ebx: 0x68747541, edx: 0x69746e65, ecx: 0x444d4163 }, // AuthenticAMD
};

function supported(): CpuidEntry[] {
  using kvm = Kvm.open();
  return kvm.supportedCpuid();
}

function edit(cpuid: CpuidEntry[], fn: number, change: Partial<CpuidEntry>): CpuidEntry[] {
  return cpuid.map((e) => (e.function === fn ? { ...e, ...change } : e));
}

const leaf = (fn: number, index = 0) => ({ function: fn, index });

/** A filter that allows every MSR but `denied` (one range each; KVM takes up to 16). */
function denyFilter(denied: readonly number[]): MsrFilter | null {
  if (denied.length === 0) return null;
  const ranges = denied.map((base) => ({ flags: MSR_FILTER_READ, base, nmsrs: 1, bitmap: new Uint8Array(1) }));
  return { flags: MSR_FILTER_DEFAULT_ALLOW, ranges };
}

describe("runGuestProbe", () => {
  onDevice("hiding x2apic and the KVM PV features is what the guest sees", () => {
    const full = supported();
    const l1 = full.find((e) => e.function === 1)!;
    expect(l1.ecx & X2APIC).toBe(X2APIC);
    const hidden = edit(edit(full, 1, { ecx: (l1.ecx & ~X2APIC) >>> 0 }), 0x40000001, { eax: 0 });
    const q = { cpuid: [leaf(1), leaf(0x40000000), leaf(0x40000001)], msrs: [] };
    const before = runGuestProbe({ cpuid: full, msrs: [], filter: null }, q);
    const after = runGuestProbe({ cpuid: hidden, msrs: [], filter: null }, q);
    expect(before.cpuid[0]!.ecx & X2APIC).toBe(X2APIC);
    expect(after.cpuid[0]!.ecx & X2APIC).toBe(0);
    expect(before.cpuid[2]!.eax).toBe(full.find((e) => e.function === 0x40000001)!.eax);
    expect(after.cpuid[2]!.eax).toBe(0);
    // "KVMKVMKVM" in the hypervisor leaf.
    expect([after.cpuid[1]!.ebx, after.cpuid[1]!.ecx, after.cpuid[1]!.edx]).toEqual([0x4b4d564b, 0x564b4d56, 0x4d]);
    expect(after.kvmCpuid.find((e) => e.function === 0x40000001)!.eax).toBe(0);
    expect(after.runs).toBe(1);
  });

  onDevice("a permitted MSR reads back the value set; a filter-denied one faults with a filter exit", () => {
    const cpuid = supported();
    const value = 0x0000_0000_0badc0den;
    // One range over TSC..UCODE_REV whose bitmap allows TSC (bit 0) and denies UCODE_REV.
    const bitmap = new Uint8Array(16);
    bitmap[0] = 1;
    const denyUcode = { flags: MSR_FILTER_READ, base: TSC, nmsrs: UCODE_REV - TSC + 1, bitmap };
    const q = { cpuid: [], msrs: [UCODE_REV, TSC] };
    const open = runGuestProbe({ cpuid, msrs: [{ index: UCODE_REV, value }], filter: null }, q);
    expect(open.msrsSetDone).toBe(1);
    expect(open.msrs[0]).toEqual({ index: UCODE_REV, outcome: "value", value });
    expect(open.msrs[1]!.outcome).toBe("value");
    const denied = runGuestProbe(
      { cpuid, msrs: [{ index: UCODE_REV, value }], filter: { flags: MSR_FILTER_DEFAULT_ALLOW, ranges: [denyUcode] } },
      q,
    );
    expect(denied.msrs[0]).toEqual({ index: UCODE_REV, outcome: "fault", value: 0n, exit: "filter" });
    expect(denied.msrs[1]!.outcome).toBe("value");
    expect(denied.runs).toBe(2);
  });

  onDevice(
    "property: an RDMSR without its stores faults, exits and reads as the all-stores probe's; a wanted value is the same",
    () => {
      using kvm = Kvm.open();
      const cpuid = kvm.supportedCpuid();
      // KVM's own MSRs read, unknown ones fault with an exit, a filter-denied one faults with a filter exit
      const pool = [...kvm.msrIndexList(), 0x12345678, 0x4b564dff, 0xc0011fff];
      const set = [{ index: UCODE_REV, value: 0x0bad_c0den }];
      const allStores = (msrs: number[], denied: number[]) =>
        runGuestProbe({ cpuid, msrs: set, filter: denyFilter(denied) }, { cpuid: [], msrs }, { kvm });
      // counters (TSC, APERF...) read differently each time: their values are not compared
      const [a, b] = [allStores(pool, []), allStores(pool, [])];
      const volatile = new Set(pool.filter((_, i) => !Bun.deepEquals(a.msrs[i], b.msrs[i])));
      expect(volatile.has(TSC) || !pool.includes(TSC)).toBe(true);
      fc.assert(
        fc.property(
          fc.array(fc.tuple(fc.constantFrom(...pool), fc.boolean()), { minLength: 1, maxLength: 60 }),
          fc.uniqueArray(fc.constantFrom(...pool), { maxLength: 4 }),
          (queries, denied) => {
            const msrs = queries.map(([m]) => m);
            const msrValueWanted = queries.map(([, w]) => w);
            const full = allStores(msrs, denied);
            const some = runGuestProbe(
              { cpuid, msrs: set, filter: denyFilter(denied) },
              { cpuid: [], msrs, msrValueWanted },
              { kvm },
            );
            expect(full.msrs.every((o) => o.outcome !== "readable")).toBe(true);
            some.msrs.forEach((o, i) => {
              const f = full.msrs[i]!;
              expect([o.index, o.exit]).toEqual([f.index, f.exit]);
              if (f.outcome === "fault") expect(o).toEqual(f);
              else if (!msrValueWanted[i]) expect(o.outcome).toBe("readable");
              else if (volatile.has(o.index)) expect(o.outcome).toBe("value");
              else expect(o).toEqual(f);
            });
          },
        ),
        { numRuns: 25 },
      );
    },
  );

  onDevice("out-of-range CPUID: zeros with an AMD vendor, the max basic leaf with an Intel vendor", () => {
    const maxBasic = 0xd;
    const base = supported().filter((e) => e.function <= maxBasic || e.function >= 0x40000000);
    const d0 = base.find((e) => e.function === maxBasic && e.index === 0)!;
    const q = { cpuid: [leaf(0x99), leaf(0x80000099)], msrs: [] };
    const amd = runGuestProbe({ cpuid: edit(base, 0, { eax: maxBasic, ...VENDOR.amd }), msrs: [], filter: null }, q);
    const intel = runGuestProbe(
      { cpuid: edit(base, 0, { eax: maxBasic, ...VENDOR.intel }), msrs: [], filter: null },
      q,
    );
    for (const o of amd.cpuid) expect([o.eax, o.ebx, o.ecx, o.edx]).toEqual([0, 0, 0, 0]);
    // 0xD.0 EBX is runtime (XSAVE size for XCR0), so compare EAX (XCR0 mask) and the observation's own 0xD.0.
    for (const o of intel.cpuid) expect(o.eax).toBe(d0.eax);
    expect(intel.cpuid[0]!.eax).not.toBe(0);
  });

  onDevice("512 CPUID queries and 512 MSRs in one probe", () => {
    const cpuid = supported();
    const queries = {
      cpuid: Array.from({ length: 512 }, (_, i) => leaf(i % 2 ? 0x80000000 + (i % 0x22) : i % 0x20, i % 3)),
      msrs: Array.from({ length: 512 }, (_, i) => (i % 4 === 0 ? TSC : 0x4000_0000 + i)),
    };
    const r = runGuestProbe({ cpuid, msrs: [], filter: null }, queries);
    expect(r.cpuid.length).toBe(512);
    expect(r.msrs.length).toBe(512);
    expect(r.cpuid.find((o) => o.function === 0)!.ebx).toBe(cpuid.find((e) => e.function === 0)!.ebx);
    expect(r.msrs.filter((m) => m.outcome === "value").map((m) => m.index)).toEqual(
      queries.msrs.filter((m) => m === TSC),
    );
    expect(r.msrs.filter((m) => m.outcome === "fault").every((m) => m.exit === "unknown")).toBe(true);
    expect(r.runs).toBe(1 + 384);
  });

  onDevice("a run bound that is too small ends in a GuestError naming the bound and RIP", () => {
    const cpuid = supported();
    expect(() =>
      runGuestProbe({ cpuid, msrs: [], filter: null }, { cpuid: [], msrs: [0x12345678, 0x12345679] }, { maxRuns: 1 }),
    ).toThrow(GuestError);
    expect(() =>
      runGuestProbe({ cpuid, msrs: [], filter: null }, { cpuid: [], msrs: [0x12345678, 0x12345679] }, { maxRuns: 1 }),
    ).toThrow(/did not finish within 1 KVM_RUN calls \(RIP 0x[0-9a-f]+\)/);
  });

  /** The probe made to misbehave: `code` replaces the first instructions at the entry point. */
  const misbehaving = (code: number[], timeLimitMs?: number) => () =>
    runGuestProbe(
      { cpuid: supported(), msrs: [], filter: null },
      { cpuid: [leaf(0)], msrs: [TSC] },
      { timeLimitMs, alterImage: (mem) => mem.set(code, GUEST.code) },
    );

  onDevice(
    "a guest that never exits (jmp $) is stopped by the time bound: a GuestError with the RIP of the loop, no hang",
    () => {
      const started = performance.now();
      const e = thrown(misbehaving([0xeb, 0xfe], 100));
      const elapsed = performance.now() - started;
      expect(e).toBeInstanceOf(GuestError);
      expect(e.message).toContain("did not finish within 100 ms");
      expect(e.message).toContain(`RIP 0x${GUEST.code.toString(16)},`);
      expect(elapsed).toBeGreaterThanOrEqual(90);
      expect(elapsed).toBeLessThan(5_000);
    },
  );

  onDevice(
    "the time bound counts guest time only: a 400 ms stall of this process before the first KVM_RUN is not a guest that never exited",
    () => {
      const sleeper = new Int32Array(new SharedArrayBuffer(4));
      const report = runGuestProbe(
        { cpuid: supported(), msrs: [], filter: null },
        { cpuid: [leaf(0)], msrs: [TSC] },
        { timeLimitMs: 100, beforeRuns: () => void Atomics.wait(sleeper, 0, 0, 400) },
      );
      expect(report.cpuid.length).toBeGreaterThan(0);
      // and a spinning guest after the same stall is still stopped by the bound
      const started = performance.now();
      const e = thrown(() =>
        runGuestProbe(
          { cpuid: supported(), msrs: [], filter: null },
          { cpuid: [leaf(0)], msrs: [TSC] },
          {
            timeLimitMs: 100,
            alterImage: (mem) => mem.set([0xeb, 0xfe], GUEST.code),
            beforeRuns: () => void Atomics.wait(sleeper, 0, 0, 400),
          },
        ),
      );
      expect(e).toBeInstanceOf(GuestError);
      expect(e.message).toContain("did not finish within 100 ms");
      expect(performance.now() - started).toBeGreaterThanOrEqual(490);
    },
  );

  onDevice(
    "a triple fault (ud2: the IDT has no #UD gate) ends in a GuestError naming the SHUTDOWN exit and the RIP",
    () => {
      // The probe's IDT holds only the #GP gate: #UD finds no gate (#NP), that finds none (#DF), and
      // that finds none: a triple fault, which KVM reports as a SHUTDOWN exit.
      const e = thrown(misbehaving([0x0f, 0x0b]));
      expect(e).toBeInstanceOf(GuestError);
      expect(e.message).toBe(`guest probe stopped with SHUTDOWN at RIP 0x${GUEST.code.toString(16)}`);
    },
  );

  onDevice(
    "an unexpected exit (port I/O that is not the done port) ends in a GuestError naming the exit, the port and the RIP",
    () => {
      const e = thrown(misbehaving([0xe6, 0x80])); // out 0x80, al
      expect(e).toBeInstanceOf(GuestError);
      // KVM reports the RIP at the OUT or just past it, depending on the hypervisor.
      const rips = [GUEST.code, GUEST.code + 2].map((r) => `0x${r.toString(16)}`);
      expect(rips.map((rip) => `guest probe stopped with IO at RIP ${rip} (port 0x80 out)`)).toContain(e.message);
    },
  );

  onDevice(
    "an access to memory outside the guest's slot ends in a GuestError naming the MMIO exit and the address",
    () => {
      // Map 2-4 MiB (no memory slot behind it) with a second large page, then read from it.
      const e = thrown(() =>
        runGuestProbe(
          { cpuid: supported(), msrs: [], filter: null },
          { cpuid: [leaf(0)], msrs: [TSC] },
          {
            alterImage: (mem) => {
              new DataView(mem.buffer, mem.byteOffset).setBigUint64(
                GUEST.pd + 8,
                0x200000n | X86.pte.present | X86.pte.write | X86.pte.pageSize,
                true,
              );
              mem.set([0x8a, 0x04, 0x25, 0x00, 0x00, 0x20, 0x00], GUEST.code); // mov al, [0x200000]
            },
          },
        ),
      );
      expect(e).toBeInstanceOf(GuestError);
      expect(e.message).toBe(`guest probe stopped with MMIO at RIP 0x${GUEST.code.toString(16)} (read at 0x200000)`);
    },
  );

  onDevice(
    "a guest stopped by the time bound leaves the thread as it was: the watchdog's signal unblocked, none pending",
    () => {
      const mask = () => /^SigBlk:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/thread-self/status`, "utf8"))![1]!;
      const pending = () => /^ShdPnd:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/thread-self/status`, "utf8"))![1]!;
      const before = mask();
      thrown(misbehaving([0xeb, 0xfe], 20));
      expect(mask()).toBe(before);
      expect(/^SigPnd:\s*0+$/m.test(readFileSync(`/proc/thread-self/status`, "utf8"))).toBe(true);
      expect(BigInt(`0x${pending()}`) & (1n << BigInt(WATCHDOG_SIGNAL - 1))).toBe(0n);
      // And the next probe runs normally.
      const r = runGuestProbe({ cpuid: supported(), msrs: [], filter: null }, { cpuid: [leaf(0)], msrs: [TSC] });
      expect(r.msrs[0]!.outcome).toBe("value");
    },
  );

  onDevice(
    "closeInBackground: false closes the VM and its vCPU before returning, with nothing left pending",
    async () => {
      using kvm = Kvm.open();
      const config = { cpuid: kvm.supportedCpuid(), msrs: [], filter: null };
      const q = { cpuid: [leaf(0)], msrs: [UCODE_REV] };
      await backgroundClosesSettled();
      const fds = () => readdirSync("/proc/self/fd").length;
      const before = fds();
      runGuestProbe(config, q, { kvm, closeInBackground: false });
      expect(Bun.peek.status(backgroundClosesSettled())).toBe("fulfilled");
      expect(fds()).toBe(before);
      // The default: the VM fd's close is still pending on return (its callback runs on a later turn).
      runGuestProbe(config, q, { kvm });
      expect(Bun.peek.status(backgroundClosesSettled())).toBe("pending");
      await backgroundClosesSettled();
      expect(fds()).toBe(before);
    },
  );

  onDevice(
    "50 probes leave no file descriptor, mapping or POSIX timer behind (once their background closes settle)",
    async () => {
      using kvm = Kvm.open();
      const cpuid = kvm.supportedCpuid();
      const q = { cpuid: [leaf(0), leaf(1), leaf(7)], msrs: [UCODE_REV, 0x12345678] };
      const config = { cpuid, msrs: [{ index: UCODE_REV, value: 1n }], filter: null };
      runGuestProbe(config, q, { kvm }); // warm up: libc is loaded once, the JIT settles
      await backgroundClosesSettled();
      Bun.gc(true);
      const fds = () => readdirSync("/proc/self/fd").length;
      // Every mapping the KVM layer makes is shared (guest RAM, kvm_run). Private anonymous ones are the
      // runtime's heap and its lazily started threads' stacks, which come and go on their own.
      const maps = () =>
        readFileSync("/proc/self/maps", "utf8")
          .split("\n")
          .filter((l) => !/^\S+ \S{3}p \S+ 00:00 0\s*$/.test(l)).length;
      // The run watchdog's timers: /proc/PID/timers lists every POSIX timer the process holds.
      const timers = () => (readFileSync("/proc/self/timers", "utf8").match(/^ID: /gm) ?? []).length;
      const fdsBefore = fds();
      const mapsBefore = maps();
      const timersBefore = timers();
      const times: number[] = [];
      for (let i = 0; i < 50; i++) times.push(runGuestProbe(config, q, { kvm }).elapsedMs);
      await backgroundClosesSettled();
      Bun.gc(true);
      expect(fds()).toBe(fdsBefore);
      expect(maps()).toBe(mapsBefore);
      expect(timers()).toBe(timersBefore);
      times.sort((a, b) => a - b);
      console.log(`median probe time over 50 runs: ${times[25]!.toFixed(2)} ms`);
    },
  );
});
