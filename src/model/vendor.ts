import type { CpuidEntry } from "./cpuid.ts";
import { findCpuid } from "./cpuid.ts";

export type Vendor = "intel" | "amd";

/** CPUID leaf 0 vendor strings, as EBX, EDX, ECX spell them. */
export const VENDOR_STRINGS: Record<string, Vendor> = {
  GenuineIntel: "intel",
  AuthenticAMD: "amd",
  HygonGenuine: "amd",
};

/**
 * Registers' bytes as text (little-endian, as CPUID spells strings), decoded as TextDecoder("latin1") does
 * (windows-1252). Built character by character: a live capture decodes a vendor and a brand string once, and
 * a decoder, a DataView and a callback cost more in a cold process than the loop. NUL bytes are kept or,
 * with `dropNul`, left out.
 */
function regString(regs: readonly number[], dropNul = false): string {
  let s = "";
  for (const r of regs)
    for (let shift = 0; shift < 32; shift += 8) {
      const byte = (r >>> shift) & 0xff;
      if (byte === 0 && dropNul) continue;
      s += byte >= 0x80 && byte <= 0x9f ? windows1252(byte) : String.fromCharCode(byte);
    }
  return s;
}

/** The rare bytes where windows-1252 (what the "latin1" label decodes) is not ISO-8859-1. */
function windows1252(byte: number): string {
  return new TextDecoder("latin1").decode(new Uint8Array([byte]));
}

export function vendorStringOf(cpuid: readonly CpuidEntry[]): string | undefined {
  const leaf0 = findCpuid(cpuid, 0);
  return leaf0 ? regString([leaf0.ebx, leaf0.edx, leaf0.ecx]) : undefined;
}

export function vendorOf(cpuid: readonly CpuidEntry[]): Vendor | undefined {
  const s = vendorStringOf(cpuid);
  return s === undefined ? undefined : VENDOR_STRINGS[s];
}

export interface CpuSignature {
  family: number;
  model: number;
  stepping: number;
}

/** Effective family/model from leaf 1 EAX (extended fields apply for family 0xF, and model for 6 too). */
export function signatureOf(cpuid: readonly CpuidEntry[]): CpuSignature | undefined {
  const leaf1 = findCpuid(cpuid, 1);
  if (!leaf1) return undefined;
  const eax = leaf1.eax;
  const stepping = eax & 0xf;
  const baseModel = (eax >>> 4) & 0xf;
  const baseFamily = (eax >>> 8) & 0xf;
  const extModel = (eax >>> 16) & 0xf;
  const extFamily = (eax >>> 20) & 0xff;
  const family = baseFamily === 0xf ? baseFamily + extFamily : baseFamily;
  const model = baseFamily === 0x6 || baseFamily === 0xf ? baseModel + (extModel << 4) : baseModel;
  return { family, model, stepping };
}

/** Brand string from 0x80000002..4, trimmed; undefined when the leaves are absent or zero. */
export function brandOf(cpuid: readonly CpuidEntry[]): string | undefined {
  const regs: number[] = [];
  for (const fn of [0x80000002, 0x80000003, 0x80000004]) {
    const e = findCpuid(cpuid, fn);
    if (!e) return undefined;
    regs.push(e.eax, e.ebx, e.ecx, e.edx);
  }
  const s = regString(regs, true).trim();
  return s.length > 0 ? s : undefined;
}

/** What CPUID says about the processor: vendor (string and kind), family/model/stepping, brand; undefined where absent. */
export interface CpuIdentity {
  vendorString: string | undefined;
  vendor: Vendor | undefined;
  signature: CpuSignature | undefined;
  brand: string | undefined;
}

/** The one reading of a host's identity from its CPUID table (live capture, imports and baselines). */
export function cpuIdentityOf(cpuid: readonly CpuidEntry[]): CpuIdentity {
  const vendorString = vendorStringOf(cpuid);
  return {
    vendorString,
    vendor: vendorString === undefined ? undefined : VENDOR_STRINGS[vendorString],
    signature: signatureOf(cpuid),
    brand: brandOf(cpuid),
  };
}
