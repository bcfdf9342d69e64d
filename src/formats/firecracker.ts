// Importing a host's CPU configuration from Firecracker's cpu-template-helper:
// a `fingerprint dump` (guest_cpu_config plus kernel/microcode/BIOS) or a `template dump` (the config alone).
// Both hold the CPUID Firecracker gives a guest with no template, built from KVM_GET_SUPPORTED_CPUID,
// and the MSR values it sets; there is no KVM capability information, so `kvm` is null.
import type * as v from "valibot";
import { biosOf } from "../model/host.ts";
import { isKvmFeatureMsr } from "../catalogue/feature-msrs.ts";
import { InputError } from "../errors.ts";
import { CPUID_FLAG_SIGNIFICANT_INDEX, isIndexedLeaf, type CpuidEntry } from "../model/cpuid.ts";
import { parseWith, printable } from "../model/document.ts";
import { hex32, hex64, parseHex64 } from "../model/hex.ts";
import { normaliseHost, type CaptureSource, type FeatureMsr, type HostCapture } from "../model/host.ts";
import { cpuIdentityOf } from "../model/vendor.ts";
import { parseExactBitmap } from "./bitmap.ts";
import { exactCpuConfigSchema, fingerprintSchema } from "./firecracker-schema.ts";

type ExactCpuConfig = v.InferOutput<typeof exactCpuConfigSchema>;

interface HostMeta {
  source: CaptureSource;
  kernel: string | null;
  microcode: string | null;
  bios?: string | null;
}

/** CPUID entries and MSRs of a full-valued config; `at` is the JSON path of the config object. */
function captureFromConfig(cfg: ExactCpuConfig, meta: HostMeta, file: string, at: string): HostCapture {
  const cpuid: CpuidEntry[] = [];
  const seenLeaves = new Set<string>();
  cfg.cpuid_modifiers.forEach((m, i) => {
    const key = `${m.leaf}/${m.subleaf}`;
    if (seenLeaves.has(key))
      throw new InputError(
        `${printable(file, 200)}: ${at}.cpuid_modifiers[${i}]: duplicate leaf ${hex64(m.leaf)} subleaf ${hex64(m.subleaf)}`,
      );
    seenLeaves.add(key);
    const fn = Number(m.leaf);
    const entry: CpuidEntry = {
      function: fn,
      index: Number(m.subleaf),
      flags: (m.flags | (isIndexedLeaf(fn) ? CPUID_FLAG_SIGNIFICANT_INDEX : 0)) >>> 0,
      eax: 0,
      ebx: 0,
      ecx: 0,
      edx: 0,
    };
    const seenRegs = new Set<string>();
    m.modifiers.forEach((r, j) => {
      if (seenRegs.has(r.register))
        throw new InputError(
          `${printable(file, 200)}: ${at}.cpuid_modifiers[${i}].modifiers[${j}]: duplicate register ${r.register}`,
        );
      seenRegs.add(r.register);
      entry[r.register] = Number(parseExactBitmap(r.bitmap));
    });
    cpuid.push(entry);
  });

  const featureMsrs: FeatureMsr[] = [];
  const msrIndexList: number[] = [];
  const seenMsrs = new Set<number>();
  cfg.msr_modifiers.forEach((m, i) => {
    const index = Number(m.addr);
    if (seenMsrs.has(index))
      throw new InputError(`${printable(file, 200)}: ${at}.msr_modifiers[${i}]: duplicate MSR ${hex32(index)}`);
    seenMsrs.add(index);
    msrIndexList.push(index);
    if (isKvmFeatureMsr(index)) featureMsrs.push({ index, value: parseExactBitmap(m.bitmap) });
  });

  const { vendor, vendorString, signature: sig, brand } = cpuIdentityOf(cpuid);
  if (vendor === undefined || vendorString === undefined)
    throw new InputError(
      `${printable(file, 200)}: ${at}.cpuid_modifiers: expected leaf 0x0 with a GenuineIntel or AuthenticAMD vendor string, got ${
        vendorString === undefined ? "no leaf 0x0" : JSON.stringify(printable(vendorString, 12))
      }`,
    );
  if (sig === undefined)
    throw new InputError(
      `${printable(file, 200)}: ${at}.cpuid_modifiers: expected leaf 0x1 (family, model, stepping), got none`,
    );
  return normaliseHost({
    source: meta.source,
    vendor,
    vendorString,
    family: sig.family,
    model: sig.model,
    stepping: sig.stepping,
    brand: brand ?? null,
    kernel: meta.kernel,
    microcode: meta.microcode,
    ...(meta.bios !== undefined ? { bios: meta.bios } : {}),
    kvm: null,
    cpuid,
    featureMsrs,
    msrIndexList,
  });
}

/** Microcode as /proc/cpuinfo spells it ("0x2007006"), in canonical hex; empty means unknown. */
function canonicalMicrocode(s: string, file: string): string | null {
  if (s.trim() === "") return null;
  const value = parseHex64(s.trim());
  if (value === undefined)
    throw new InputError(
      `${printable(file, 200)}: $.microcode_version: expected a hex string such as "0x2007006", got ${JSON.stringify(printable(s, 40))}`,
    );
  return hex64(value);
}

export function importFirecrackerFingerprint(data: unknown, file: string): HostCapture {
  const fp = parseWith(fingerprintSchema, data, file);
  const kernel = fp.kernel_version.trim();
  return captureFromConfig(
    fp.guest_cpu_config,
    {
      source: "firecracker-fingerprint",
      kernel: kernel === "" ? null : kernel,
      microcode: canonicalMicrocode(fp.microcode_version, file),
      bios: biosOf(fp.bios_version, fp.bios_revision),
    },
    file,
    "$.guest_cpu_config",
  );
}

export function importFirecrackerDump(data: unknown, file: string): HostCapture {
  const cfg = parseWith(exactCpuConfigSchema, data, file);
  return captureFromConfig(cfg, { source: "firecracker-dump", kernel: null, microcode: null }, file, "$");
}
