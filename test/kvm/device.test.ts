// Against the real /dev/kvm; skipped with one line where it is absent.
import { describe, expect, test } from "bun:test";
import { EnvironmentError } from "../../src/errors.ts";
import { readdirSync } from "node:fs";
import { GuestMemory, KVM_CAP, Kvm, KvmError, backgroundClosesSettled, type KvmSregs } from "../../src/kvm/index.ts";
import { vendorOf } from "../../src/model/vendor.ts";
import { kvmSkipReason } from "./kvm-device.ts";

const onDevice = kvmSkipReason ? test.skip : test;

describe("/dev/kvm", () => {
  test("a missing device node is an EnvironmentError that says so", () => {
    expect(() => Kvm.open("/nonexistent/kvm")).toThrow(/^no \/nonexistent\/kvm: .*ENOENT \(2\)/);
    try {
      Kvm.open("/nonexistent/kvm");
    } catch (e) {
      expect(e).toBeInstanceOf(EnvironmentError);
    }
  });

  onDevice("API version 12 and a vcpu mmap size of at least one page", () => {
    using kvm = Kvm.open();
    expect(kvm.apiVersion()).toBe(12);
    expect(kvm.vcpuMmapSize()).toBeGreaterThanOrEqual(4096);
  });

  onDevice("supported CPUID has leaf 0 with a known vendor", () => {
    using kvm = Kvm.open();
    const cpuid = kvm.supportedCpuid();
    expect(cpuid.length).toBeGreaterThan(10);
    expect(vendorOf(cpuid)).toMatch(/^(intel|amd)$/);
    expect(kvm.emulatedCpuid().length).toBeGreaterThan(0);
  });

  onDevice("feature-MSR list reads back values on the system fd", () => {
    using kvm = Kvm.open();
    expect(kvm.checkExtension(KVM_CAP.GET_MSR_FEATURES)).toBeGreaterThan(0);
    const list = kvm.msrFeatureIndexList();
    expect(list.length).toBeGreaterThan(0);
    const values = kvm.getFeatureMsrs(list);
    expect(values.map((v) => v.index)).toEqual(list);
    expect(kvm.msrIndexList().length).toBeGreaterThan(list.length);
  });

  onDevice("a VM runs `cpuid; hlt` in real mode and the registers come back", () => {
    using kvm = Kvm.open();
    const cpuid = kvm.supportedCpuid();
    using mem = GuestMemory.allocate(0x10000);
    using vm = kvm.createVm();
    vm.setUserMemoryRegion({ slot: 0, guestPhysAddr: 0n, memory: mem });
    vm.setTssAddr(0xfffbd000);
    using vcpu = vm.createVcpu(0);
    vcpu.setCpuid2(cpuid);
    mem.bytes.set([0x0f, 0xa2, 0xf4], 0x1000); // cpuid; hlt
    const sregs: KvmSregs = vcpu.getSregs();
    vcpu.setSregs({ ...sregs, cs: { ...sregs.cs, base: 0n, selector: 0 } });
    const regs = vcpu.getRegs();
    vcpu.setRegs({ ...regs, rax: 0n, rip: 0x1000n, rflags: 2n });
    const exit = vcpu.run();
    expect(exit.reason).toBe("HLT");
    const after = vcpu.getRegs();
    expect(after.rip).toBe(0x1003n);
    const leaf0 = cpuid.find((e) => e.function === 0)!;
    expect([after.rbx, after.rdx, after.rcx]).toEqual([BigInt(leaf0.ebx), BigInt(leaf0.edx), BigInt(leaf0.ecx)]);
  });

  onDevice("a bad ioctl argument is a KvmError naming the ioctl and errno", () => {
    using kvm = Kvm.open();
    using vm = kvm.createVm();
    using vcpu = vm.createVcpu(0);
    // 0x80000008 EAX[15:8] (linear address bits) must be 48, 57 or 0.
    const bad = { function: 0x80000008, index: 0, flags: 0, eax: 0x2030, ebx: 0, ecx: 0, edx: 0 };
    let error: unknown;
    try {
      vcpu.setCpuid2([bad]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(KvmError);
    expect((error as KvmError).message).toBe("KVM_SET_CPUID2 failed: EINVAL (22)");
    expect((error as KvmError).ioctl).toBe("KVM_SET_CPUID2");
  });

  onDevice("an out-of-range MSR filter flag is refused by KVM_X86_SET_MSR_FILTER", () => {
    using kvm = Kvm.open();
    using vm = kvm.createVm();
    expect(() => vm.setMsrFilter({ flags: 2, ranges: [] })).toThrow("KVM_X86_SET_MSR_FILTER failed: EINVAL (22)");
    vm.setMsrFilter({ flags: 0, ranges: [{ flags: 1, base: 0x10, nmsrs: 1, bitmap: new Uint8Array(8) }] });
  });

  onDevice("SET_MSRS and GET_MSRS report how many entries were done, stopping at the first refusal", () => {
    using kvm = Kvm.open();
    using vm = kvm.createVm();
    using vcpu = vm.createVcpu(0);
    vcpu.setCpuid2(kvm.supportedCpuid());
    expect(
      vcpu.setMsrs([
        { index: 0x8b, value: 0x77n },
        { index: 0x12345678, value: 1n },
        { index: 0x8b, value: 0x99n },
      ]),
    ).toBe(1);
    expect(vcpu.getMsrs([0x8b, 0x12345678, 0x10]).map((m) => [m.index, m.value])).toEqual([[0x8b, 0x77n]]);
    expect(vcpu.getCpuid2().find((e) => e.function === 0x40000000)).toBeDefined();
  });

  onDevice("disposing twice is harmless and a disposed handle refuses use", () => {
    const kvm = Kvm.open();
    const vm = kvm.createVm();
    const vcpu = vm.createVcpu(0);
    vm.dispose();
    expect(vcpu.disposed).toBe(true);
    vcpu.dispose();
    vm.dispose();
    kvm.dispose();
    kvm.dispose();
    expect(() => kvm.apiVersion()).toThrow(/used after dispose/);
    const mem = GuestMemory.allocate(4096);
    mem.dispose();
    mem.dispose();
    expect(() => mem.bytes).toThrow(/used after dispose/);
  });

  onDevice(
    "disposeInBackground: the VM and its vCPUs are unusable at once, and their fds are closed once backgroundClosesSettled resolves",
    async () => {
      using kvm = Kvm.open();
      const fds = () => readdirSync("/proc/self/fd").length;
      await backgroundClosesSettled();
      const before = fds();
      const vms = Array.from({ length: 8 }, () => kvm.createVm());
      const vcpus = vms.map((vm) => vm.createVcpu(0));
      expect(fds()).toBe(before + 16);
      for (const vm of vms) vm.disposeInBackground();
      expect(vms.every((vm) => vm.disposed) && vcpus.every((v) => v.disposed)).toBe(true);
      expect(() => vcpus[0]!.getRegs()).toThrow(/used after dispose/);
      vms[0]!.disposeInBackground(); // twice is harmless
      vms[0]!.dispose();
      await backgroundClosesSettled();
      expect(fds()).toBe(before);
    },
  );
});
