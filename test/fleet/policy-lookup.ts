// Finding policy fields by name and reading them out of a capture, so tests name features, not leaf numbers.
import { findCpuid } from "../../src/model/cpuid.ts";
import { bitMask32 } from "../../src/fields/bits.ts";
import type { HostCapture } from "../../src/model/host.ts";
import type { Vendor } from "../../src/model/vendor.ts";
import { policyFor } from "../../src/policy/index.ts";
import type { CpuidField, MsrField } from "../../src/policy/types.ts";

export function cpuidField(vendor: Vendor, name: string): CpuidField {
  const f = policyFor(vendor).cpuid.find((x) => x.name === name);
  if (!f) throw new Error(`policy has no CPUID field ${name}`);
  return f;
}

export function msrField(vendor: Vendor, name: string): MsrField {
  const f = policyFor(vendor).msrFields.find((x) => x.name === name);
  if (!f) throw new Error(`policy has no MSR field ${name}`);
  return f;
}

/** The field's value in the capture (at its first subleaf), undefined when the leaf is absent. */
export function cpuidValue(h: HostCapture, f: CpuidField): number | undefined {
  const e = findCpuid(h.cpuid, f.leaf, f.subleaves.start);
  return e === undefined ? undefined : ((e[f.register] & bitMask32(f.lsb, f.msb)) >>> f.lsb) >>> 0;
}

export function msrValue(h: HostCapture, f: MsrField): bigint | undefined {
  const m = h.featureMsrs.find((x) => x.index === f.index);
  return m === undefined ? undefined : (m.value >> BigInt(f.lsb)) & ((1n << BigInt(f.msb - f.lsb + 1)) - 1n);
}
