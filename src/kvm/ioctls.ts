// KVM ioctl request numbers, computed from the kernel's _IOC encoding so each entry states its
// direction, number and argument size rather than a bare constant.

/** _IOC field layout on x86_64: nr bits 0-7, type 8-15, size 16-29, dir 30-31. */
const IOC = { nrShift: 0, typeShift: 8, sizeShift: 16, dirShift: 30, sizeBits: 14 } as const;
export const IOC_DIR = { none: 0, write: 1, read: 2, readWrite: 3 } as const;
export type IocDir = keyof typeof IOC_DIR;
/** KVMIO, the ioctl type of every KVM request. */
export const KVMIO = 0xae;

export function ioc(dir: IocDir, type: number, nr: number, size: number): number {
  if (size < 0 || size >= 1 << IOC.sizeBits) throw new RangeError(`ioctl size ${size} does not fit in ${IOC.sizeBits} bits`);
  // >>> 0 keeps the result an unsigned 32-bit number: dir bits 30-31 would otherwise go negative.
  return ((IOC_DIR[dir] << IOC.dirShift) | (size << IOC.sizeShift) | (type << IOC.typeShift) | (nr << IOC.nrShift)) >>> 0;
}

const io = (nr: number) => ioc("none", KVMIO, nr, 0);
const ior = (nr: number, size: number) => ioc("read", KVMIO, nr, size);
const iow = (nr: number, size: number) => ioc("write", KVMIO, nr, size);
const iowr = (nr: number, size: number) => ioc("readWrite", KVMIO, nr, size);

/** Sizes are the uapi structs' fixed parts (sizeof in C), not the variable-length arrays after them. */
export const KVM_IOCTLS = {
  KVM_GET_API_VERSION: io(0x00),
  KVM_CREATE_VM: io(0x01),
  KVM_GET_MSR_INDEX_LIST: iowr(0x02, 4),
  KVM_CHECK_EXTENSION: io(0x03),
  KVM_GET_VCPU_MMAP_SIZE: io(0x04),
  KVM_GET_SUPPORTED_CPUID: iowr(0x05, 8),
  KVM_GET_EMULATED_CPUID: iowr(0x09, 8),
  KVM_GET_MSR_FEATURE_INDEX_LIST: iowr(0x0a, 4),
  KVM_CREATE_VCPU: io(0x41),
  KVM_SET_USER_MEMORY_REGION: iow(0x46, 32),
  KVM_SET_TSS_ADDR: io(0x47),
  KVM_RUN: io(0x80),
  KVM_GET_REGS: ior(0x81, 144),
  KVM_SET_REGS: iow(0x82, 144),
  KVM_GET_SREGS: ior(0x83, 312),
  KVM_SET_SREGS: iow(0x84, 312),
  KVM_GET_MSRS: iowr(0x88, 8),
  KVM_SET_SIGNAL_MASK: iow(0x8b, 4),
  KVM_SET_MSRS: iow(0x89, 8),
  KVM_SET_CPUID2: iow(0x90, 8),
  KVM_GET_CPUID2: iowr(0x91, 8),
  KVM_ENABLE_CAP: iow(0xa3, 104),
  KVM_GET_XCRS: ior(0xa6, 392),
  KVM_SET_XCRS: iow(0xa7, 392),
  KVM_X86_SET_MSR_FILTER: iow(0xc6, 392),
} as const;

export type IoctlName = keyof typeof KVM_IOCTLS;
