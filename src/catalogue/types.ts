// Shapes of the catalogue tables.
import type { Register } from "../model/cpuid.ts";

/** One single-bit CPUID feature. */
export interface CpuidFeature {
  leaf: number;
  /** null: the leaf is not indexed, the bit is the same for every subleaf. */
  subleaf: number | null;
  register: Register;
  bit: number;
  /** /proc/cpuinfo name (or the lower-cased X86_FEATURE_ suffix, or the SDM/APM name), markers stripped. */
  linux: string;
  /** QEMU `-cpu` property name, when QEMU has one. */
  qemu: string | null;
  /** How KVM_GET_SUPPORTED_CPUID treats it: F, E, R, V, S, P, A, -, ? (kvm-x86.md section 5). */
  kvm: string;
  /** Hidden in /proc/cpuinfo (`*`). */
  hiddenInProc?: boolean;
  /** Not a Linux cpufeatures name (`!`). */
  notLinux?: boolean;
  /** New or uncertain (`?`). */
  uncertain?: boolean;
  /** AMD's copy in 0x80000001 EDX of the 1.EDX bit of the same name. */
  aliasOfLeaf1Edx?: boolean;
}

/** A multi-bit field of a register (CPUID register or MSR), bits lsb..msb inclusive. */
export interface BitField {
  lsb: number;
  msb: number;
  name: string;
}

export interface CpuidField extends BitField {
  leaf: number;
  /** null: every subleaf; otherwise the first subleaf it names (through lastSubleaf, when given). */
  subleaf: number | null;
  lastSubleaf?: number;
  register: Register;
}

/** A named bit or field of an MSR. */
export interface MsrBitField extends BitField {
  index: number;
  qemu?: string;
  /** IA32_ARCH_CAPABILITIES: in KVM_SUPPORTED_ARCH_CAP, so it can reach a guest. */
  kvmSupported?: boolean;
}
