// KVM ioctl request numbers, computed from the kernel's _IOC encoding so each entry states its
// direction, number and argument struct (its size comes from the struct's layout, as kvm-ioctls'
// `ioctl_iowr_nr!(KVM_GET_MSR_INDEX_LIST, KVMIO, 0x02, kvm_msr_list)` takes it from the Rust type).
import {
  CPUID2,
  ENABLE_CAP,
  MEMORY_REGION,
  MSR_FILTER,
  MSR_LIST,
  MSRS,
  REGS,
  SIGNAL_MASK,
  SREGS,
  XCRS,
} from "./layout.ts";

/** _IOC field layout on x86_64: nr bits 0-7, type 8-15, size 16-29, dir 30-31. */
const IOC = { nrShift: 0, typeShift: 8, sizeShift: 16, dirShift: 30, sizeBits: 14 } as const;
export const IOC_DIR = { none: 0, write: 1, read: 2, readWrite: 3 } as const;
export type IocDir = keyof typeof IOC_DIR;
/** KVMIO, the ioctl type of every KVM request. */
export const KVMIO = 0xae;

export function ioc(dir: IocDir, type: number, nr: number, size: number): number {
  if (size < 0 || size >= 1 << IOC.sizeBits)
    throw new RangeError(`ioctl size ${size} does not fit in ${IOC.sizeBits} bits`);
  // >>> 0 keeps the result an unsigned 32-bit number: dir bits 30-31 would otherwise go negative.
  return (
    ((IOC_DIR[dir] << IOC.dirShift) | (size << IOC.sizeShift) | (type << IOC.typeShift) | (nr << IOC.nrShift)) >>> 0
  );
}

const io = (nr: number) => ioc("none", KVMIO, nr, 0);
/** A struct of layout.ts: a fixed-size one (`size`), or one whose fixed part (`header`) a flexible array follows. */
type Struct = { readonly size: number } | { readonly header: number };
/** sizeof in C: the whole struct, or its fixed part without the variable-length array after it. */
const sizeOf = (s: Struct) => ("size" in s ? s.size : s.header);
const ior = (nr: number, s: Struct) => ioc("read", KVMIO, nr, sizeOf(s));
const iow = (nr: number, s: Struct) => ioc("write", KVMIO, nr, sizeOf(s));
const iowr = (nr: number, s: Struct) => ioc("readWrite", KVMIO, nr, sizeOf(s));

export const KVM_IOCTLS = {
  KVM_GET_API_VERSION: io(0x00),
  KVM_CREATE_VM: io(0x01),
  KVM_GET_MSR_INDEX_LIST: iowr(0x02, MSR_LIST),
  KVM_CHECK_EXTENSION: io(0x03),
  KVM_GET_VCPU_MMAP_SIZE: io(0x04),
  KVM_GET_SUPPORTED_CPUID: iowr(0x05, CPUID2),
  KVM_GET_EMULATED_CPUID: iowr(0x09, CPUID2),
  KVM_GET_MSR_FEATURE_INDEX_LIST: iowr(0x0a, MSR_LIST),
  KVM_CREATE_VCPU: io(0x41),
  KVM_SET_USER_MEMORY_REGION: iow(0x46, MEMORY_REGION),
  KVM_SET_TSS_ADDR: io(0x47),
  KVM_RUN: io(0x80),
  KVM_GET_REGS: ior(0x81, REGS),
  KVM_SET_REGS: iow(0x82, REGS),
  KVM_GET_SREGS: ior(0x83, SREGS),
  KVM_SET_SREGS: iow(0x84, SREGS),
  KVM_GET_MSRS: iowr(0x88, MSRS),
  KVM_SET_SIGNAL_MASK: iow(0x8b, SIGNAL_MASK),
  KVM_SET_MSRS: iow(0x89, MSRS),
  KVM_SET_CPUID2: iow(0x90, CPUID2),
  KVM_GET_CPUID2: iowr(0x91, CPUID2),
  KVM_ENABLE_CAP: iow(0xa3, ENABLE_CAP),
  KVM_GET_XCRS: ior(0xa6, XCRS),
  KVM_SET_XCRS: iow(0xa7, XCRS),
  KVM_X86_SET_MSR_FILTER: iow(0xc6, MSR_FILTER),
} as const;

export type IoctlName = keyof typeof KVM_IOCTLS;
