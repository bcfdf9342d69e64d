// Real /dev/kvm: what a guest sees under an applied profile, classified. Skips where /dev/kvm is absent.
import { describe, expect, test } from "bun:test";
import { runGuestProbe } from "../../src/guest/index.ts";
import { GUEST } from "../../src/guest/layout.ts";
import { captureLiveHost } from "../../src/host/live.ts";
import { Kvm } from "../../src/kvm/index.ts";
import { REGISTERS, type CpuidEntry } from "../../src/model/cpuid.ts";
import type { HostCapture } from "../../src/model/host.ts";
import type { CpuidAdjustment, Profile } from "../../src/model/profile.ts";
import { applyProfile } from "../../src/profile/apply.ts";
import { hostProfileOf } from "../../src/profile/migration.ts";
import { generateProfile } from "../../src/profile/generate.ts";
import { classify } from "../../src/verify/classify.ts";
import { expectedCpuid } from "../../src/verify/expect.ts";
import { planProbe } from "../../src/verify/plan.ts";
import { verifyAll, verifyProfile } from "../../src/verify/run.ts";
import { kvmSkipReason } from "../kvm/kvm-device.ts";

const live = kvmSkipReason === null;
const host: HostCapture | null = live ? captureLiveHost() : null;

type Bit = { leaf: number; subleaf: number; register: "eax" | "ebx" | "ecx" | "edx"; bit: number; name: string };

/** A hand-made profile: the host's table with `hidden` bits cleared (kind "profile", so unknown registers would be 0). */
function hidingProfile(h: HostCapture, hidden: readonly Bit[], permittedMsrs: number[]): Profile {
  const cpuid: CpuidAdjustment[] = [];
  for (const e of h.cpuid)
    for (const register of REGISTERS) {
      const clear = hidden
        .filter((b) => b.leaf === e.function && b.subleaf === e.index && b.register === register)
        .reduce((m, b) => m | (1 << b.bit), 0);
      cpuid.push({
        leaf: e.function,
        subleaf: { start: e.index, end: e.index },
        register,
        replacements: 0,
        mask: ~clear >>> 0,
      });
    }
  return {
    name: "verify-test",
    version: 1,
    vendor: h.vendor,
    kind: "profile",
    description: "hides a few features",
    sourceHosts: [],
    toolVersion: "test",
    cpuid,
    msrs: [{ index: 0x8b, replacements: 0x1234n, mask: 0n }],
    permittedMsrs,
  };
}

const bitOf = (t: readonly CpuidEntry[], b: Bit) =>
  ((t.find((e) => e.function === b.leaf && e.index === b.subleaf)?.[b.register] ?? 0) >>> b.bit) & 1;

describe.skipIf(!live)(`verify on the real /dev/kvm${live ? "" : ` (skipped: ${kvmSkipReason})`}`, () => {
  const h = host!;
  const CANDIDATES: Bit[] = [
    { leaf: 1, subleaf: 0, register: "ecx", bit: 21, name: "x2apic" },
    { leaf: 7, subleaf: 0, register: "ebx", bit: 1, name: "tsc_adjust" },
    { leaf: 7, subleaf: 0, register: "ecx", bit: 8, name: "gfni" },
    { leaf: 0x80000001, subleaf: 0, register: "ecx", bit: 0, name: "lahf_lm" },
  ];
  const HIDDEN = CANDIDATES.filter((b) => live && bitOf(h.cpuid, b) === 1); // only features this host's KVM supports
  const PERMITTED = [
    0x10, 0x3b, 0x8b, 0xce, 0x10a, 0x174, 0x175, 0x176, 0x277, 0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084,
    0xc0000102,
  ];
  const profile = live ? hidingProfile(h, HIDDEN, PERMITTED) : null;

  test("a profile hiding features KVM supports: each is hidden in the guest, or reported as the hypervisor's rewrite", () => {
    expect(HIDDEN.length).toBeGreaterThan(0);
    const r = verifyProfile(profile!, h);
    expect(r.error).toBeUndefined();
    expect(r.guest!.cpuidProbes).toBeGreaterThan(20);
    for (const b of HIDDEN) {
      const d = r.differences.find((x) => x.name === b.name && x.leaf === b.leaf);
      if (d) expect(d.class).toBe("hypervisor-rewrite");
    }
    // x2apic is emulated by KVM itself, so even kvm_pvm honours hiding it
    if (HIDDEN.some((b) => b.name === "x2apic")) expect(r.differences.some((d) => d.name === "x2apic")).toBe(false);
    // nothing the profile hides is reported as silently exposed: every difference is runtime, rewrite or an MSR finding
    expect(
      r.differences.filter(
        (d) => d.class === "feature-exposed" || d.class === "field-mismatch" || d.class === "out-of-range",
      ),
    ).toEqual([]);
  });

  test("verify's results do not depend on the host's kernel, microcode or BIOS (the CLI's capture skips them)", () => {
    using kvm = Kvm.open();
    const lean = captureLiveHost({ kvm, systemInfo: false });
    const untimed = (r: ReturnType<typeof verifyAll>) =>
      r.results.map((x) => ({ ...x, guest: x.guest && { ...x.guest, elapsedMs: 0 } }));
    const stable = (r: ReturnType<typeof verifyAll>) =>
      untimed(r).map((x) => ({ ...x, differences: x.differences.filter((d) => d.class !== "kvm-runtime") }));
    expect(lean.kernel).toBeNull();
    expect(stable(verifyAll(lean, { kvm }))).toEqual(stable(verifyAll(h, { kvm })));
  });

  test("a denied MSR faults, a permitted one reads back the value the profile sets, all as promised", () => {
    // a hand-made profile apply would refuse as unsafe for a guest OS (kvmclock advertised, not permitted): test the probe itself
    const config = applyProfile(profile!, h, { checkGuestMsrs: false });
    const plan = planProbe(config, h, PERMITTED);
    const report = runGuestProbe({ cpuid: config.cpuid, msrs: config.msrs, filter: config.msrFilter }, plan);
    const obs = (i: number) => report.msrs.find((m) => m.index === i)!;
    expect(obs(0x1db)).toMatchObject({ outcome: "fault", exit: "filter" }); // LBR MSR, not permitted
    expect(obs(0x8b)).toMatchObject({ outcome: "value", value: 0x1234n }); // UCODE_REV as the profile sets it
    // TSC, permitted: the plan promises it readable only, so the guest skips recording its value
    expect(obs(0x10)).toEqual({ index: 0x10, outcome: "readable" });
    // KVM reads TSC_ADJUST whatever CPUID says (only the feature bit is hidden): readable, as promised
    expect(obs(0x3b)).toMatchObject({ outcome: "readable" });
    const diffs = classify(config, h, report);
    expect(diffs.filter((d) => d.msr === 0x1db || d.msr === 0x8b || d.msr === 0x10 || d.msr === 0x3b)).toEqual([]);
  });

  test("a caller of runGuestProbe that does not ask for fewer values gets the value of every MSR that reads", () => {
    const config = applyProfile(profile!, h, { checkGuestMsrs: false });
    const { cpuid, msrs } = planProbe(config, h, PERMITTED);
    const report = runGuestProbe({ cpuid: config.cpuid, msrs: config.msrs, filter: config.msrFilter }, { cpuid, msrs });
    expect(report.msrs.map((o) => o.index)).toEqual(msrs);
    expect(report.msrs.filter((o) => o.outcome !== "value" && o.outcome !== "fault")).toEqual([]);
    expect(report.msrs.find((m) => m.index === 0x10)).toMatchObject({ outcome: "value" });
    // and the differences are those of the plan that records only the values classify looks at
    const planned = runGuestProbe(
      { cpuid: config.cpuid, msrs: config.msrs, filter: config.msrFilter },
      planProbe(config, h, PERMITTED),
    );
    const stable = (d: { class: string }) => d.class !== "kvm-runtime";
    expect(classify(config, h, planned).filter(stable)).toEqual(classify(config, h, report).filter(stable));
  });

  test("an MSR the promise denies but the guest reads is reported with the value the guest read", () => {
    // The promise: the filter denies UCODE_REV, which the profile also sets. The guest runs without the filter
    // (as under a hypervisor that ignored it), so it reads the value.
    const denying = applyProfile(
      hidingProfile(
        h,
        HIDDEN,
        PERMITTED.filter((m) => m !== 0x8b),
      ),
      h,
      { checkGuestMsrs: false },
    );
    const plan = planProbe(denying, h, PERMITTED);
    expect(plan.msrValueWanted[plan.msrs.indexOf(0x8b)]).toBe(true);
    expect(plan.msrValueWanted[plan.msrs.indexOf(0x10)]).toBe(false);
    const report = runGuestProbe({ cpuid: denying.cpuid, msrs: denying.msrs, filter: null }, plan);
    expect(report.msrs.find((m) => m.index === 0x8b)).toEqual({ index: 0x8b, outcome: "value", value: 0x1234n });
    expect(classify(denying, h, report).find((d) => d.msr === 0x8b)).toMatchObject({
      class: "msr-readable",
      expected: "fault",
      observed: "0x1234",
      explanation: "the MSR filter denies this MSR but the guest read it",
    });
  });

  test("out-of-range CPUID behaves as documented for the vendor of the table (AMD zeros; Intel the max basic leaf)", () => {
    const config = applyProfile(hostProfileOf(h), h);
    const intelLeaf0 = { ebx: 0x756e6547, edx: 0x49656e69, ecx: 0x6c65746e };
    for (const table of [config.cpuid, config.cpuid.map((e) => (e.function === 0 ? { ...e, ...intelLeaf0 } : e))]) {
      const vendor = table === config.cpuid ? h.vendor : "intel";
      const maxBasic = table.find((e) => e.function === 0)!.eax;
      const queries = {
        cpuid: [
          { function: maxBasic + 1, index: 0 },
          { function: 0x80000099, index: 0 },
          { function: 0x99, index: 1 },
        ],
        msrs: [],
      };
      const report = runGuestProbe({ cpuid: table, msrs: [], filter: null }, queries);
      const kvmTable = report.kvmCpuid; // compare against KVM's own table so the hypervisor's rewrites cancel out
      for (const o of report.cpuid) {
        const { function: fn, index, ...regs } = o;
        const want = expectedCpuid(kvmTable, vendor, fn, index);
        if (fn === 0x99 || fn === maxBasic + 1)
          // runtime XSAVE sizes may sit in 0xD; compare the rest
          expect({ ...regs, ebx: 0 }).toEqual({ ...want, ebx: 0 });
        else expect(regs).toEqual(want);
      }
      if (vendor === "amd") for (const o of report.cpuid) expect([o.eax, o.ebx, o.ecx, o.edx]).toEqual([0, 0, 0, 0]);
    }
  });

  test("the host profile and every embedded profile: compatibility for all, the guest check where compatible, in milliseconds", () => {
    const t0 = performance.now();
    const all = verifyAll(h);
    expect(all.results[0]!.profile).toBe("host");
    expect(all.results[0]!.guest).not.toBeNull();
    expect(performance.now() - t0).toBeLessThan(5000);
    // kvm_pvm rewrites CPUID, so the host profile reports that rewrite rather than passing silently
    const rewrites = all.results[0]!.differences.filter((d) => d.class === "hypervisor-rewrite");
    if (rewrites.length > 0) expect(all.results[0]!.passed).toBe(false);
  });

  test("KVM refusing the profile's table becomes a failed result naming the ioctl, not a crash", () => {
    // 0x80000008 EAX[15:8] must be 48 or 57: KVM refuses this table, so the check fails with the reason
    const broken: Profile = { ...hostProfileOf(h), name: "broken" };
    const r = verifyProfile(broken, {
      ...h,
      cpuid: h.cpuid.map((e) => (e.function === 0x80000008 ? { ...e, eax: (e.eax & ~0xff00) | (40 << 8) } : e)),
    });
    expect(r.passed).toBe(false);
    expect(r.guest).toBeNull();
    expect(r.error).toMatch(/KVM_SET_CPUID2/);
  });

  test("a misbehaving guest becomes a failed result naming the exit and RIP, never a hang", () => {
    const profile = hostProfileOf(h);
    const entry = (code: number[]) => (mem: Uint8Array) => mem.set(code, GUEST.code);
    const spinning = verifyProfile(profile, h, { probe: { timeLimitMs: 50, alterImage: entry([0xeb, 0xfe]) } }); // jmp $
    expect(spinning.passed).toBe(false);
    expect(spinning.guest).toBeNull();
    const rip = `0x${GUEST.code.toString(16)}`;
    expect(spinning.error).toMatch(
      new RegExp(
        `^guest probe did not finish within 50 ms: the guest never exited to cpuprof \\(RIP ${rip}, after \\d+ KVM_RUN calls\\)$`,
      ),
    );
    const tripleFault = verifyProfile(profile, h, { probe: { alterImage: entry([0x0f, 0x0b]) } }); // ud2, no #UD gate
    expect(tripleFault.passed).toBe(false);
    expect(tripleFault.error).toBe(`guest probe stopped with SHUTDOWN at RIP ${rip}`);
    // The same profile without the fault passes its guest check as far as the guest goes.
    expect(verifyProfile(profile, h).guest).not.toBeNull();
  });

  test("what a guest OS does: a profile advertising tsc_deadline_timer without permitting 0x6e0 fails verify in the guest, naming both", () => {
    const { profile: own } = generateProfile(h, { name: "own" });
    expect(bitOf(h.cpuid, { leaf: 1, subleaf: 0, register: "ecx", bit: 24, name: "tsc_deadline_timer" })).toBe(1);
    expect(h.msrIndexList).toContain(0x6e0); // this KVM knows the MSR, so the filter can deny it
    const good = verifyProfile(own, h);
    expect(good.differences.filter((d) => d.class === "os-msr-fault")).toEqual([]);
    const broken: Profile = {
      ...own,
      name: "no-tsc-deadline",
      permittedMsrs: own.permittedMsrs.filter((m) => m !== 0x6e0),
    };
    const r = verifyProfile(broken, h);
    expect(r.passed).toBe(false);
    const d = r.differences.find((x) => x.msr === 0x6e0);
    expect(d).toMatchObject({ class: "os-msr-fault", observed: "fault" });
    expect(d!.explanation).toContain("tsc_deadline_timer");
    expect(d!.explanation).toContain("MSR filter denies it");
    // the other classes stay accepted; only the guest-OS finding fails the check
    const allowed = verifyProfile(broken, h, { allow: ["hypervisor-rewrite", "msr-readable"] });
    expect(allowed.passed).toBe(false);
  });
});
