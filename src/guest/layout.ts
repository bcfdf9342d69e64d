// Guest-physical layout of the probe VM (kvm-x86.md 2b): one 2 MiB slot at 0, identity-mapped
// by a single 2 MiB page. Every address the image, the code and the host reader use comes from here.

export const GUEST_MEMORY_SIZE = 0x200000;

/** Most queries of each kind one probe handles; the tables below are sized for them. */
export const MAX_CPUID_QUERIES = 8192;
export const MAX_MSR_QUERIES = 8192;

export const GUEST = {
  gdt: 0x500,
  idt: 0x600,
  /** The #GP handler. */
  gpHandler: 0x1000,
  /** Initial RSP; the stack grows down into 0x2000..0x8000, clear of code and tables. */
  stackTop: 0x8000,
  pml4: 0x10000,
  pdpt: 0x11000,
  pd: 0x12000,
  /** {eax, ebx, ecx, edx} per CPUID query. */
  cpuidResults: 0x50000,
  /** {lo, hi} per MSR query (16 bytes each; whether it faulted is in faultMap). */
  msrResults: 0x80000,
  /** Entry point: the straight-line query code made for each probe (code.ts), up to about 408 KiB. */
  code: 0x100000,
  /** One byte per byte of code: the #GP handler sets the byte of a faulting RDMSR to 1. */
  faultMap: 0x180000,
} as const;

export const RESULT_SIZE = 16;

/** The port the guest writes to when every query is done. */
export const DONE_PORT = 0x10;

/** x86 long-mode constants (SDM vol. 3). */
export const X86 = {
  pte: { present: 1n, write: 2n, pageSize: 0x80n },
  cr0: 0x80000031n, // PG | NE | ET | PE
  cr4: 0x20n, // PAE
  efer: 0x500n, // LME | LMA
  rflags: 2n, // bit 1 is reserved and must be set
  gpVector: 13,
  gdtCode64: 0x00af9a000000ffffn,
  gdtData: 0x00cf92000000ffffn,
  codeSelector: 8,
  dataSelector: 0x10,
  interruptGate: 0x8e,
  idtGateSize: 16,
} as const;
