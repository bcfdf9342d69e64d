import { describe, expect, test } from "bun:test";
import { KVM_IOCTLS, ioc } from "../../src/kvm/ioctls.ts";
import { describeErrno, errnoName } from "../../src/kvm/errno.ts";
import { KvmError } from "../../src/kvm/error.ts";
import { EXIT } from "../../src/errors.ts";

// The literal values of kvm-x86.md section 1, measured from the uapi headers.
const EXPECTED: Record<keyof typeof KVM_IOCTLS, number> = {
  KVM_GET_API_VERSION: 0xae00,
  KVM_CREATE_VM: 0xae01,
  KVM_GET_MSR_INDEX_LIST: 0xc004ae02,
  KVM_CHECK_EXTENSION: 0xae03,
  KVM_GET_VCPU_MMAP_SIZE: 0xae04,
  KVM_GET_SUPPORTED_CPUID: 0xc008ae05,
  KVM_GET_EMULATED_CPUID: 0xc008ae09,
  KVM_GET_MSR_FEATURE_INDEX_LIST: 0xc004ae0a,
  KVM_CREATE_VCPU: 0xae41,
  KVM_SET_USER_MEMORY_REGION: 0x4020ae46,
  KVM_SET_TSS_ADDR: 0xae47,
  KVM_RUN: 0xae80,
  KVM_GET_REGS: 0x8090ae81,
  KVM_SET_REGS: 0x4090ae82,
  KVM_GET_SREGS: 0x8138ae83,
  KVM_SET_SREGS: 0x4138ae84,
  KVM_GET_MSRS: 0xc008ae88,
  // Not in kvm-x86.md: _IOW(KVMIO, 0x8b, struct kvm_signal_mask), sizeof 4 (linux/kvm.h); strace decodes it by name.
  KVM_SET_SIGNAL_MASK: 0x4004ae8b,
  KVM_SET_MSRS: 0x4008ae89,
  KVM_SET_CPUID2: 0x4008ae90,
  KVM_GET_CPUID2: 0xc008ae91,
  KVM_ENABLE_CAP: 0x4068aea3,
  KVM_GET_XCRS: 0x8188aea6,
  KVM_SET_XCRS: 0x4188aea7,
  KVM_X86_SET_MSR_FILTER: 0x4188aec6,
};

describe("ioctl numbers", () => {
  for (const [name, value] of Object.entries(EXPECTED)) {
    test(`${name} = 0x${value.toString(16)}`, () => {
      expect(KVM_IOCTLS[name as keyof typeof KVM_IOCTLS]).toBe(value);
    });
  }

  test("a size that does not fit the 14-bit field is refused", () => {
    expect(() => ioc("read", 0xae, 1, 1 << 14)).toThrow(RangeError);
  });
});

describe("errno and KvmError", () => {
  test("names known errnos and numbers unknown ones", () => {
    expect(errnoName(22)).toBe("EINVAL");
    expect(errnoName(7)).toBe("E2BIG");
    expect(describeErrno(14)).toBe("EFAULT (14)");
    expect(describeErrno(4242)).toBe("errno 4242");
  });

  test("message names the ioctl and errno; exit code is the environment one", () => {
    const e = new KvmError("KVM_SET_CPUID2", 22);
    expect(e.message).toBe("KVM_SET_CPUID2 failed: EINVAL (22)");
    expect(e.ioctl).toBe("KVM_SET_CPUID2");
    expect(e.errno).toBe(22);
    expect(e.exitCode).toBe(EXIT.environment);
  });
});
