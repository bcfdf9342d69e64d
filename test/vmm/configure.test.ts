// The vCPU configuration API on the real /dev/kvm (skipped with one line where it is absent).
import { describe, expect, test } from "bun:test";
import { captureLiveHost } from "../../src/host/live.ts";
import { kvmVendorModule } from "../../src/host/kvm-module.ts";
import {
  GuestMemory,
  KVM_CAP,
  Kvm,
  MSR_EXIT_REASON,
  MSR_FILTER_DEFAULT_ALLOW,
  MSR_FILTER_READ,
  type MsrFilter,
  type Vcpu,
} from "../../src/kvm/index.ts";
import { generateProfile } from "../../src/profile/generate.ts";
import { applyProfile } from "../../src/profile/apply.ts";
import { buildMsrFilter } from "../../src/profile/filter.ts";
import { hostProfileOf } from "../../src/profile/migration.ts";
import {
  CrucialMsrRefusedError,
  MsrFilterRangesError,
  MsrRestoreRefusedError,
  SavedMsrsMismatchError,
  configureVcpu,
  configureVm,
  restoreMsrs,
  saveMsrs,
} from "../../src/vmm/index.ts";
import { msrName } from "../../src/catalogue/index.ts";
import { thrown } from "../helpers/thrown.ts";
import { kvmSkipReason } from "../kvm/kvm-device.ts";

const onDevice = kvmSkipReason ? test.skip : test;
const ARCH_CAPABILITIES = 0x10a;
const UCODE_REV = 0x8b;
const STAR = 0xc0000081;
const SYSENTER_CS = 0x174;
const PAT = 0x277;
const LSTAR = 0xc0000082;

/** A VM with one real-mode vCPU whose code at 0x1000 is `rdmsr; hlt`. */
function rdmsrVm(kvm: Kvm) {
  const mem = GuestMemory.allocate(0x10000);
  mem.bytes.set([0x0f, 0x32, 0xf4], 0x1000);
  const vm = kvm.createVm();
  vm.setUserMemoryRegion({ slot: 0, guestPhysAddr: 0n, memory: mem });
  vm.setTssAddr(0xfffbd000);
  return { vm, mem, [Symbol.dispose]: () => (vm.dispose(), mem.dispose()) };
}

function runRdmsr(vcpu: Vcpu, msr: number) {
  const s = vcpu.getSregs();
  vcpu.setSregs({ ...s, cs: { ...s.cs, base: 0n, selector: 0 } });
  vcpu.setRegs({ ...vcpu.getRegs(), rcx: BigInt(msr), rip: 0x1000n, rflags: 2n });
  return vcpu.run();
}

describe("configureVm", () => {
  onDevice("installs the filter: a denied MSR exits to user space with reason filter, a permitted one reads", () => {
    const host = captureLiveHost();
    using kvm = Kvm.open();
    using g = rdmsrVm(kvm);
    g.vm.enableCap(KVM_CAP.X86_USER_SPACE_MSR, [BigInt(MSR_EXIT_REASON.filter)]);
    const filter = buildMsrFilter([SYSENTER_CS, PAT], [PAT]);
    expect(configureVm(g.vm, { msrFilter: filter })).toEqual({ filterRanges: 1 });
    const vcpu = g.vm.createVcpu(0);
    configureVcpu(vcpu, { cpuid: host.cpuid, msrs: [] });
    const denied = runRdmsr(vcpu, SYSENTER_CS);
    expect(denied.reason).toBe("X86_RDMSR");
    expect(denied.msr!.index).toBe(SYSENTER_CS);
    expect(denied.msr!.reason).toBe(MSR_EXIT_REASON.filter);
    using g2 = rdmsrVm(kvm);
    configureVm(g2.vm, { msrFilter: filter });
    const vcpu2 = g2.vm.createVcpu(0);
    configureVcpu(vcpu2, { cpuid: host.cpuid, msrs: [] });
    expect(runRdmsr(vcpu2, PAT).reason).toBe("HLT");
  });

  onDevice("an allow-all filter after a denying one lifts it (on a fresh VM it is KVM's own state)", () => {
    const host = captureLiveHost();
    using kvm = Kvm.open();
    const allowAll = { flags: MSR_FILTER_DEFAULT_ALLOW, ranges: [] };
    for (const filters of [[allowAll], [buildMsrFilter([SYSENTER_CS, PAT], [PAT]), allowAll]]) {
      using g = rdmsrVm(kvm);
      g.vm.enableCap(KVM_CAP.X86_USER_SPACE_MSR, [BigInt(MSR_EXIT_REASON.filter)]);
      for (const f of filters) configureVm(g.vm, { msrFilter: f });
      const vcpu = g.vm.createVcpu(0);
      configureVcpu(vcpu, { cpuid: host.cpuid, msrs: [] });
      expect(runRdmsr(vcpu, SYSENTER_CS).reason).toBe("HLT");
    }
  });

  onDevice("more ranges than KVM allows is a clear typed error before any ioctl", () => {
    using kvm = Kvm.open();
    using g = rdmsrVm(kvm);
    const range = (base: number) => ({ flags: MSR_FILTER_READ, base, nmsrs: 1, bitmap: new Uint8Array(8) });
    const filter: MsrFilter = {
      flags: MSR_FILTER_DEFAULT_ALLOW,
      ranges: Array.from({ length: 17 }, (_, i) => range(0x1000 * i)),
    };
    const e = thrown(() => configureVm(g.vm, { msrFilter: filter }));
    expect(e).toBeInstanceOf(MsrFilterRangesError);
    expect(e.message).toBe(
      "MSR filter has 17 ranges, KVM accepts at most 16 (KVM_MSR_FILTER_MAX_RANGES); permit more MSRs or fewer scattered ones",
    );
    expect(configureVm(g.vm, { msrFilter: null })).toEqual({ filterRanges: 0 });
  });
});

describe("configureVcpu", () => {
  onDevice(
    "a refused crucial MSR is a CrucialMsrRefusedError naming MSR, value and what KVM kept; the values after it are still set",
    () => {
      const host = captureLiveHost();
      using kvm = Kvm.open();
      using vm = kvm.createVm();
      const vcpu = vm.createVcpu(0);
      // bit 63 of IA32_ARCH_CAPABILITIES is reserved: no KVM accepts it
      const bad = 1n << 63n;
      const e = thrown(() =>
        configureVcpu(vcpu, {
          cpuid: host.cpuid,
          msrs: [
            { index: ARCH_CAPABILITIES, value: bad },
            { index: UCODE_REV, value: 0x1234n },
          ],
        }),
      );
      expect(e).toBeInstanceOf(CrucialMsrRefusedError);
      const c = e as CrucialMsrRefusedError;
      expect(c.refusals).toHaveLength(1);
      expect(c.refusals[0]).toMatchObject({ index: ARCH_CAPABILITIES, value: bad, crucial: true });
      expect(c.message).toStartWith(
        "vCPU 0: KVM refused crucial MSR arch_capabilities (0x10a) = 0x8000000000000000: KVM_SET_MSRS refused it, the vCPU holds 0x",
      );
      expect(c.exitCode).toBe(1);
      expect(vcpu.getMsrs([UCODE_REV])[0]!.value).toBe(0x1234n);
    },
  );

  onDevice("a non-crucial refusal is reported, not thrown", () => {
    const host = captureLiveHost();
    using kvm = Kvm.open();
    using vm = kvm.createVm();
    const vcpu = vm.createVcpu(0);
    const setup = configureVcpu(vcpu, {
      cpuid: host.cpuid,
      msrs: [
        { index: UCODE_REV, value: 0x55n },
        { index: ARCH_CAPABILITIES, value: 1n << 63n, crucial: false },
        { index: PAT, value: 0x0006060606060606n },
      ],
    });
    expect(setup.refused.map((r) => [r.index, r.crucial])).toEqual([[ARCH_CAPABILITIES, false]]);
    expect(setup).toMatchObject({ msrsSet: 2, firstRefused: 1 });
    expect(vcpu.getMsrs([UCODE_REV, PAT]).map((m) => m.value)).toEqual([0x55n, 0x0006060606060606n]);
  });

  onDevice(
    `the host profile's own IA32_ARCH_CAPABILITIES: refused by kvm_pvm (a typed error), accepted by other KVMs (this host: ${kvmVendorModule() ?? "unknown"})`,
    () => {
      const host = captureLiveHost();
      const config = applyProfile(hostProfileOf(host), host);
      const value = config.msrs.find((m) => m.index === ARCH_CAPABILITIES)?.value;
      using kvm = Kvm.open();
      using vm = kvm.createVm();
      const vcpu = vm.createVcpu(0);
      if (kvmVendorModule() !== "kvm_pvm" || value === undefined || value === 0n) {
        expect(configureVcpu(vcpu, config).refused.filter((r) => r.crucial)).toEqual([]);
        return;
      }
      const e = thrown(() => configureVcpu(vcpu, config));
      expect(e).toBeInstanceOf(CrucialMsrRefusedError);
      expect((e as CrucialMsrRefusedError).refusals.map((r) => [r.index, r.value])).toEqual([
        [ARCH_CAPABILITIES, value],
      ]);
      expect(e.message).toContain(`arch_capabilities (0x10a) = 0x${value.toString(16)}: KVM_SET_MSRS refused it`);
      // a checker can ask for the refusal as data instead
      using vm2 = kvm.createVm();
      const setup = configureVcpu(vm2.createVcpu(0), config, { crucial: "report" });
      expect(setup.refused.map((r) => r.index)).toEqual([ARCH_CAPABILITIES]);
    },
  );
});

describe("saveMsrs / restoreMsrs", () => {
  onDevice("save reads exactly msrsToSave; restore on a second VM moves the values", () => {
    const host = captureLiveHost();
    const config = applyProfile(hostProfileOf(host), host);
    expect(config.msrsToSave).toContain(STAR);
    using kvm = Kvm.open();
    using a = kvm.createVm();
    const src = a.createVcpu(0);
    configureVcpu(src, config, { crucial: "report" });
    expect(
      src.setMsrs([
        { index: STAR, value: 0x0023001000000000n },
        { index: SYSENTER_CS, value: 0x10n },
      ]),
    ).toBe(2);
    const saved = saveMsrs(src, config);
    expect(saved.msrs.map((m) => m.index)).toEqual(config.msrsToSave);
    expect(saved.vcpuId).toBe(0);
    using b = kvm.createVm();
    const dst = b.createVcpu(0);
    configureVcpu(dst, config, { crucial: "report" });
    expect(dst.getMsrs([STAR])[0]!.value).toBe(0n);
    expect(restoreMsrs(dst, config, saved)).toEqual({ restored: config.msrsToSave.length, notSaved: [] });
    expect(dst.getMsrs([STAR, SYSENTER_CS]).map((m) => m.value)).toEqual([0x0023001000000000n, 0x10n]);
    // a source that saved fewer MSRs (an older kernel): the rest stay at reset and are named
    const partial = { msrs: saved.msrs.filter((m) => m.index !== STAR) };
    expect(restoreMsrs(dst, config, partial).notSaved).toEqual([STAR]);
  });

  onDevice("a saved set from a profile that permits more is refused naming the MSRs, and nothing is written", () => {
    const host = captureLiveHost();
    const wide = applyProfile(hostProfileOf(host), host);
    // a profile generated from this host permits fewer MSRs than the host profile (no LBR, no PMU state)
    const { profile } = generateProfile(host, { name: "narrow" });
    const narrow = applyProfile(profile, host, { msrFilter: false });
    const extra = wide.msrsToSave.filter((m) => !narrow.msrsToSave.includes(m));
    expect(extra.length).toBeGreaterThan(0);
    using kvm = Kvm.open();
    using a = kvm.createVm();
    const src = a.createVcpu(0);
    configureVcpu(src, wide, { crucial: "report" });
    src.setMsrs([{ index: PAT, value: 0x0006060606060606n }]);
    const saved = saveMsrs(src, wide);
    using b = kvm.createVm();
    const dst = b.createVcpu(0);
    const e = thrown(() => restoreMsrs(dst, narrow, saved));
    expect(e).toBeInstanceOf(SavedMsrsMismatchError);
    expect((e as SavedMsrsMismatchError).extra).toEqual(extra);
    expect(e.message).toStartWith(
      `cannot restore ${extra.length} saved MSR(s) outside this configuration's msrsToSave`,
    );
    expect(e.message).toContain(`${msrName(extra[0]!)} (0x${extra[0]!.toString(16)})`);
    expect(dst.getMsrs([PAT])[0]!.value).not.toBe(0x0006060606060606n);
  });

  onDevice("a saved value KVM refuses is a MsrRestoreRefusedError naming it", () => {
    const host = captureLiveHost();
    const config = applyProfile(hostProfileOf(host), host);
    using kvm = Kvm.open();
    using vm = kvm.createVm();
    const vcpu = vm.createVcpu(0);
    configureVcpu(vcpu, config, { crucial: "report" });
    // a non-canonical LSTAR: KVM refuses it even from the host
    const e = thrown(() => restoreMsrs(vcpu, config, { msrs: [{ index: LSTAR, value: 1n << 63n }] }));
    expect(e).toBeInstanceOf(MsrRestoreRefusedError);
    expect(e.message).toStartWith(
      "vCPU 0: restore failed: lstar (0xc0000082) = 0x8000000000000000: KVM_SET_MSRS refused it, the vCPU holds 0x",
    );
  });
});
