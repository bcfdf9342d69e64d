// A host capture: what one host's KVM offers a guest.
import * as v from "valibot";
import { InputError } from "../errors.ts";
import { sortCpuid, type CpuidEntry } from "./cpuid.ts";
import { hex32, hex64 } from "./hex.ts";
import { type DocumentCodec, fieldSchemas, parseDocument, printable, serializeDocument } from "./document.ts";
import { once } from "./memo.ts";
import { VENDOR_STRINGS, vendorStringOf, type Vendor } from "./vendor.ts";

export const HOST_FORMAT = "cpuprof-host";
export const HOST_FORMAT_VERSION = 1;

/** Where a capture came from. */
export const CAPTURE_SOURCES = ["kvm", "firecracker-fingerprint", "firecracker-dump"] as const;
export type CaptureSource = (typeof CAPTURE_SOURCES)[number];

/** The KVM capabilities cpuprof relies on, by the name KVM_CAP_* gives them. */
export const CAPABILITY_NAMES = [
  "GET_MSR_FEATURES",
  "X86_USER_SPACE_MSR",
  "X86_MSR_FILTER",
  "ENFORCE_PV_FEATURE_CPUID",
] as const;
export type CapabilityName = (typeof CAPABILITY_NAMES)[number];

export interface FeatureMsr {
  index: number;
  value: bigint;
}

export interface HostCapture {
  source: CaptureSource;
  vendor: Vendor;
  vendorString: string;
  family: number;
  model: number;
  stepping: number;
  brand: string | null;
  kernel: string | null;
  microcode: string | null;
  /** Firmware version (and revision), as Firecracker fingerprints and /sys/class/dmi report it; absent in older captures. */
  bios?: string | null;
  kvm: { apiVersion: number; capabilities: Record<CapabilityName, number> } | null;
  /** KVM_GET_SUPPORTED_CPUID, sorted by (function, index). */
  cpuid: CpuidEntry[];
  /** KVM_GET_MSR_FEATURE_INDEX_LIST with the values read on the system fd, sorted by index. */
  featureMsrs: FeatureMsr[];
  /** KVM_GET_MSR_INDEX_LIST, sorted. */
  msrIndexList: number[];
}

/** The capture's schema, built on first use (fieldSchemas in document.ts says why). */
export const hostCaptureSchema = once(() => {
  const { hexString, hexU32, hexU64, vendorName } = fieldSchemas();
  const cpuidEntrySchema = v.strictObject({
    function: hexU32,
    index: hexU32,
    flags: hexU32,
    eax: hexU32,
    ebx: hexU32,
    ecx: hexU32,
    edx: hexU32,
  });

  const smallInt = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(0xffffffff));
  const text = v.pipe(v.string(), v.maxLength(256));
  return v.strictObject({
    format: v.literal(HOST_FORMAT),
    formatVersion: v.literal(HOST_FORMAT_VERSION),
    source: v.picklist(CAPTURE_SOURCES),
    vendor: vendorName,
    vendorString: text,
    family: smallInt,
    model: smallInt,
    stepping: smallInt,
    brand: v.nullable(text),
    kernel: v.nullable(text),
    microcode: v.nullable(hexString),
    bios: v.optional(v.nullable(text)),
    kvm: v.nullable(
      v.strictObject({
        apiVersion: smallInt,
        capabilities: v.strictObject({
          GET_MSR_FEATURES: smallInt,
          X86_USER_SPACE_MSR: smallInt,
          X86_MSR_FILTER: smallInt,
          ENFORCE_PV_FEATURE_CPUID: smallInt,
        }),
      }),
    ),
    cpuid: v.pipe(v.array(cpuidEntrySchema), v.minLength(1, "at least one CPUID entry"), v.maxLength(4096)),
    featureMsrs: v.pipe(v.array(v.strictObject({ index: hexU32, value: hexU64 })), v.maxLength(4096)),
    msrIndexList: v.pipe(v.array(hexU32), v.maxLength(65536)),
  });
});

/** Firmware version and revision (Firecracker's bios_version/bios_revision, /sys/class/dmi/id bios_version/bios_release) as one string ("1.0 rev 4.14"), kept so `diff` can report firmware drift. */
export function biosOf(version: string | undefined, revision: string | undefined): string | null {
  const v = version?.trim() ?? "";
  const r = revision?.trim() ?? "";
  return v === "" && r === "" ? null : r === "" ? v : `${v} rev ${r}`;
}

/** Canonical form: sorted tables, duplicates refused by the caller's validation. */
export function normaliseHost(h: HostCapture): HostCapture {
  return {
    ...h,
    cpuid: sortCpuid(h.cpuid),
    featureMsrs: [...h.featureMsrs].sort((a, b) => a.index - b.index),
    msrIndexList: [...new Set(h.msrIndexList)].sort((a, b) => a - b),
  };
}

export function parseHostCapture(data: unknown, file: string): HostCapture {
  return parseDocument(HOST_CODEC, data, file);
}

export function assertUniqueHost(h: HostCapture, file: string): void {
  const seen = new Set<string>();
  for (const [i, e] of h.cpuid.entries()) {
    const key = `${e.function}/${e.index}`;
    if (seen.has(key))
      throw new InputError(
        `${printable(file, 200)}: $.cpuid[${i}]: duplicate leaf ${hex32(e.function)} subleaf ${hex32(e.index)}`,
      );
    seen.add(key);
  }
  const msrs = new Set<number>();
  for (const [i, m] of h.featureMsrs.entries()) {
    if (msrs.has(m.index))
      throw new InputError(`${printable(file, 200)}: $.featureMsrs[${i}]: duplicate MSR ${hex32(m.index)}`);
    msrs.add(m.index);
  }
}

/** A capture must describe one CPU: CPUID entries present, and leaf 0's vendor the one it states. */
export function assertConsistentHost(h: HostCapture, file: string): void {
  const where = printable(file, 200);
  if (h.cpuid.length === 0) throw new InputError(`${where}: $.cpuid: expected at least one CPUID entry, got none`);
  const leaf0 = vendorStringOf(h.cpuid);
  if (leaf0 === undefined) return;
  const i = h.cpuid.findIndex((e) => e.function === 0);
  const fromLeaf0 = VENDOR_STRINGS[leaf0];
  if (fromLeaf0 !== undefined && fromLeaf0 !== h.vendor)
    throw new InputError(
      `${where}: $.vendor: expected "${fromLeaf0}" as $.cpuid[${i}] (leaf 0) says ${JSON.stringify(printable(leaf0, 12))}, got "${h.vendor}"`,
    );
}

/** One CPUID entry in the wire form (hex strings, fixed key order). */
export function cpuidEntryToJson(
  e: CpuidEntry,
): Record<"function" | "index" | "flags" | "eax" | "ebx" | "ecx" | "edx", string> {
  return {
    function: hex32(e.function),
    index: hex32(e.index),
    flags: hex32(e.flags),
    eax: hex32(e.eax),
    ebx: hex32(e.ebx),
    ecx: hex32(e.ecx),
    edx: hex32(e.edx),
  };
}

/** Wire form with a fixed key order, so the same capture is the same bytes. */
export function hostToJson(h: HostCapture): object {
  const n = normaliseHost(h);
  return {
    format: HOST_FORMAT,
    formatVersion: HOST_FORMAT_VERSION,
    source: n.source,
    vendor: n.vendor,
    vendorString: n.vendorString,
    family: n.family,
    model: n.model,
    stepping: n.stepping,
    brand: n.brand,
    kernel: n.kernel,
    microcode: n.microcode,
    ...(n.bios !== undefined ? { bios: n.bios } : {}),
    kvm: n.kvm && {
      apiVersion: n.kvm.apiVersion,
      capabilities: Object.fromEntries(CAPABILITY_NAMES.map((k) => [k, n.kvm!.capabilities[k]])),
    },
    cpuid: n.cpuid.map(cpuidEntryToJson),
    featureMsrs: n.featureMsrs.map((m) => ({ index: hex32(m.index), value: hex64(m.value) })),
    msrIndexList: n.msrIndexList.map(hex32),
  };
}

/** The capture as its file, validated first as `parseHostCapture` reads it: we write only what we read. */
export function serializeHost(h: HostCapture): string {
  return serializeDocument(HOST_CODEC, h, "the host capture to write");
}

/** The host capture as a document: read by parseHostCapture, written by serializeHost. */
const HOST_CODEC: DocumentCodec<ReturnType<typeof hostCaptureSchema>, HostCapture> = {
  schema: hostCaptureSchema,
  fromWire(w, file) {
    const host: HostCapture = {
      source: w.source,
      vendor: w.vendor,
      vendorString: w.vendorString,
      family: w.family,
      model: w.model,
      stepping: w.stepping,
      brand: w.brand,
      kernel: w.kernel,
      microcode: w.microcode,
      ...(w.bios !== undefined ? { bios: w.bios } : {}),
      kvm: w.kvm,
      cpuid: w.cpuid,
      featureMsrs: w.featureMsrs,
      msrIndexList: w.msrIndexList,
    };
    assertUniqueHost(host, file);
    assertConsistentHost(host, file);
    return normaliseHost(host);
  },
  toWire: hostToJson,
};
