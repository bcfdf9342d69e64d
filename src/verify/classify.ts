// Compares what the guest saw with the promise, bit field by bit field, and names every difference.
import { REGISTERS, type CpuidEntry, type Register } from "../model/cpuid.ts";
import { bitMask32, bitSet, fieldValue, highestBit, lowestBit } from "../fields/bits.ts";
import { splitRegisterBits } from "../fields/split.ts";
import { hex32, hex64 } from "../model/hex.ts";
import type { HostCapture } from "../model/host.ts";
import type { Vendor } from "../model/vendor.ts";
import { vendorOf } from "../model/vendor.ts";
import type { Difference, DifferenceClass } from "./difference.ts";
import { msrExpectationsOf, resolveCpuid, type CpuidResolution, type ProbedConfig } from "./expect.ts";
import { runtimeFieldsOf } from "./kvm-runtime.ts";
import { gateBitNames, gateOf, msrGateOpen, type MsrGate } from "./msr-gates.ts";
import { cpuidBitsName, msrName } from "../catalogue/index.ts";
import { leafGateOf, leafGatesOf } from "../policy/index.ts";
import { filterDecision } from "../profile/filter.ts";
import { osMsrNeedsOfTable, type OsMsrNeed } from "../profile/guest-msrs.ts";

/** What the guest check reports (src/guest's GuestReport has this shape). */
export interface GuestView {
  cpuid: readonly { function: number; index: number; eax: number; ebx: number; ecx: number; edx: number }[];
  /** Outcome "readable": read without fault, its value not recorded (the plan did not want it: msrValuesWanted). */
  msrs: readonly (
    | { index: number; outcome: "value" | "fault"; value: bigint; exit?: string }
    | { index: number; outcome: "readable"; exit?: string }
  )[];
  /** KVM_GET_CPUID2 after the run: the table as KVM really holds it. */
  kvmCpuid: readonly CpuidEntry[];
  /** How many of config.msrs KVM_SET_MSRS accepted (it stops at the first refusal); all when absent. */
  msrsSetDone?: number;
  /** Every MSR of config.msrs KVM refused, when the values after a refusal were still set (src/vmm's configureVcpu). */
  msrsRefused?: readonly number[];
}

interface Unit {
  lsb: number;
  msb: number;
  /** A named single-bit feature. */
  feature: boolean;
  /** The name of a field the catalogue names (reported whole); undefined: a run of bits named by location. */
  name?: string;
}

/**
 * Splits the differing bits of a register into reportable units, from the one split of the register (src/fields),
 * of which only the fields holding a differing bit are built: named single-bit features, named multi-bit fields
 * (whole), and runs of adjacent bits no name covers.
 */
function unitsOf(vendor: Vendor, diff: number, leaf: number, subleaf: number, register: Register): Unit[] {
  const units: Unit[] = [];
  for (const f of splitRegisterBits(vendor, leaf, subleaf, register, diff)) {
    if (f.named) {
      units.push(
        f.lsb === f.msb
          ? { lsb: f.lsb, msb: f.msb, feature: true }
          : { lsb: f.lsb, msb: f.msb, feature: false, name: f.name },
      );
      continue;
    }
    for (let bit = f.lsb; bit <= f.msb; bit++) {
      if (!bitSet(diff, bit)) continue;
      const last = units[units.length - 1];
      if (last && !last.feature && last.name === undefined && last.msb === bit - 1) last.msb = bit;
      else units.push({ lsb: bit, msb: bit, feature: false });
    }
  }
  return units;
}

function outOfRangeExplanation(vendor: Vendor, res: CpuidResolution): string {
  const rule =
    vendor === "intel"
      ? "Intel: a function above its class maximum returns the max basic leaf's entry for the requested subleaf"
      : "AMD: a function above its class maximum returns zeros";
  return `out-of-range CPUID did not follow the documented rule (${rule}; expected rule: ${res.rule})`;
}

function classifyCpuid(config: ProbedConfig, vendor: Vendor, view: GuestView): Difference[] {
  const out: Difference[] = [];
  let gatesOpen: ((leaf: number, subleaf: number) => boolean) | undefined;
  for (const o of view.cpuid) {
    const fn = o.function >>> 0,
      idx = o.index >>> 0;
    const promised = resolveCpuid(config.cpuid, vendor, fn, idx);
    const p = promised.regs;
    // Most answers are exactly the promise: only a word that differs is looked at further (issue 15).
    if (((p.eax ^ o.eax) | (p.ebx ^ o.ebx) | (p.ecx ^ o.ecx) | (p.edx ^ o.edx)) === 0) continue;
    const kvm = resolveCpuid(view.kvmCpuid, vendor, fn, idx).regs;
    for (const reg of REGISTERS) {
      const exp = p[reg] >>> 0,
        obs = o[reg] >>> 0;
      let diff = (exp ^ obs) >>> 0;
      if (diff === 0) continue;
      if (promised.source) {
        for (const f of runtimeFieldsOf(promised.source.function, promised.source.index, reg)) {
          const mask = bitMask32(f.lsb, f.msb);
          if ((diff & mask) === 0) continue;
          diff = (diff & ~mask) >>> 0;
          out.push({
            class: "kvm-runtime",
            name: f.name,
            leaf: fn,
            subleaf: idx,
            register: reg,
            bits: { lsb: f.lsb, msb: f.msb },
            expected: hex32(fieldValue(f, exp)),
            observed: hex32(fieldValue(f, obs)),
            explanation: `expected: ${f.reason}`,
          });
        }
        if (diff === 0) continue;
      }
      for (const u of unitsOf(vendor, diff, fn, idx, reg)) {
        const mask = bitMask32(u.lsb, u.msb);
        const e = fieldValue(u, exp),
          ob = fieldValue(u, obs);
        const rewritten = ((kvm[reg] ^ obs) & mask) === 0;
        let cls: DifferenceClass, explanation: string;
        if (rewritten) {
          cls = "hypervisor-rewrite";
          explanation = `KVM_GET_CPUID2 after the run shows ${hex32(ob)} too: the kernel's hypervisor module rewrote the CPUID table cpuprof set (${u.feature ? (ob ? "feature added" : "feature removed") : "field changed"}); the guest does not get the profile here`;
        } else if (promised.rule !== "entry") {
          cls = "out-of-range";
          explanation = outOfRangeExplanation(vendor, promised);
        } else if (!(gatesOpen ??= leafGatesOf(config.cpuid))(fn, idx)) {
          cls = "hidden-leaf";
          explanation = `${leafGateOf(fn, idx)!.why}; the guest sees it non-zero`;
        } else if (u.feature) {
          cls = ob ? "feature-exposed" : "feature-missing";
          explanation = ob
            ? "the profile hides this feature but the guest sees it"
            : "the profile promises this feature but the guest does not see it";
        } else {
          cls = "field-mismatch";
          explanation = "the field's value differs from the applied CPUID table";
        }
        out.push({
          class: cls,
          name: u.name ?? cpuidBitsName(fn, idx, reg, u.lsb, u.msb),
          leaf: fn,
          subleaf: idx,
          register: reg,
          bits: { lsb: u.lsb, msb: u.msb },
          expected: hex32(e),
          observed: hex32(ob),
          explanation,
        });
      }
    }
  }
  return out;
}

/** The MSRs a guest OS uses for what `table` shows, with the features that make it use each. */
function osNeeds(table: readonly CpuidEntry[], vendor: Vendor): Map<number, OsMsrNeed> {
  const needs = new Map<number, OsMsrNeed>();
  for (const n of osMsrNeedsOfTable(vendor, table).needed) needs.set(n.msr, n);
  return needs;
}

const usedBecause = (n: OsMsrNeed) =>
  n.features.length > 0
    ? `the guest sees ${n.features.join(", ")}, so a guest OS uses this MSR`
    : "every x86-64 guest OS uses this MSR";

/** The CPUID bits that open an MSR's gate, by name, for an explanation ("" for an MSR without one). */
const gateNames = (gate: MsrGate | undefined) => (gate ? gateBitNames(gate) : "");

/** The MSR a difference is about, by name and index: made only for an MSR that differs. */
const namedMsr = (msr: number) => ({ name: msrName(msr), msr });

const observedOf = (o: GuestView["msrs"][number]) =>
  o.outcome === "fault" ? "fault" : o.outcome === "readable" ? "readable" : hex64(o.value);

/**
 * Most MSRs read or fault as promised: what names and explains a difference (the MSR's name, the observed value
 * in hex, the gate's bit names) is made only for those that do not.
 */
function classifyMsrs(config: ProbedConfig, needs: ReadonlyMap<number, OsMsrNeed>, view: GuestView): Difference[] {
  const out: Difference[] = [];
  const expectedMsr = msrExpectationsOf(config);
  for (const o of view.msrs) {
    const msr = o.index >>> 0;
    const exp = expectedMsr(msr);
    const gate = gateOf(msr);
    // write-only MSRs (PRED_CMD, FLUSH_CMD) fault on RDMSR by design; writeOnlyMsrs checks them
    const used = needs.get(msr);
    const need = used?.use.access === "write-only" ? undefined : used;
    // What a guest OS will do comes first: a fault the profile itself causes (the filter) is still a fault to the OS.
    // KVM gates that need vCPU setup the probe never does (MCG_CTL) are not the profile's doing.
    if (
      need &&
      o.outcome === "fault" &&
      exp.kind === "fault" &&
      !(exp.why === "cpuid-gate" && gate?.anyOf.length === 0)
    ) {
      const rewritten =
        exp.why === "cpuid-gate" &&
        gate !== undefined &&
        msrGateOpen(config.cpuid, msr) &&
        !msrGateOpen(view.kvmCpuid, msr);
      out.push({
        ...namedMsr(msr),
        class: rewritten ? "hypervisor-rewrite" : "os-msr-fault",
        expected: "readable",
        observed: observedOf(o),
        explanation: `${usedBecause(need)} (${need.use.why}), but a guest RDMSR faulted: ${exp.why === "filter" ? "the profile's MSR filter denies it" : `KVM refuses it (gated on ${gateNames(gate)})`}`,
      });
      continue;
    }
    if (exp.kind === "fault" && o.outcome !== "fault") {
      if (exp.why === "cpuid-gate" && msrGateOpen(view.kvmCpuid, msr)) {
        out.push({
          ...namedMsr(msr),
          class: "hypervisor-rewrite",
          expected: "fault",
          observed: observedOf(o),
          explanation: `readable because the hypervisor added ${gateNames(gate)} to the CPUID table cpuprof set`,
        });
      } else {
        out.push({
          ...namedMsr(msr),
          class: "msr-readable",
          expected: "fault",
          observed: observedOf(o),
          explanation:
            exp.why === "filter"
              ? "the MSR filter denies this MSR but the guest read it"
              : `KVM should refuse it (gated on ${gateNames(gate)}), but the guest read it`,
        });
      }
    } else if (exp.kind !== "fault" && o.outcome === "fault") {
      const expected = exp.kind === "value" ? hex64(exp.value) : "readable";
      const via = o.exit ? ` (exit: ${o.exit})` : "";
      if (gate && msrGateOpen(config.cpuid, msr) && !msrGateOpen(view.kvmCpuid, msr)) {
        out.push({
          ...namedMsr(msr),
          class: "hypervisor-rewrite",
          expected,
          observed: observedOf(o),
          explanation: `faults because the hypervisor removed ${gateBitNames(gate)} from the CPUID table cpuprof set${via}`,
        });
      } else if (need) {
        out.push({
          ...namedMsr(msr),
          class: "os-msr-fault",
          expected,
          observed: observedOf(o),
          explanation: `${usedBecause(need)} (${need.use.why}), and the profile permits it, but a guest RDMSR faulted${via}`,
        });
      } else {
        out.push({
          ...namedMsr(msr),
          class: "msr-fault",
          expected,
          observed: observedOf(o),
          explanation: `the profile permits this MSR but a guest RDMSR faulted${via}`,
        });
      }
    } else if (exp.kind === "value" && o.outcome === "value" && BigInt.asUintN(64, o.value) !== exp.value) {
      const diff = BigInt.asUintN(64, o.value) ^ exp.value;
      const lsb = lowestBit(diff),
        msb = highestBit(diff);
      out.push({
        ...namedMsr(msr),
        class: "msr-value",
        bits: { lsb, msb },
        expected: hex64(exp.value),
        observed: observedOf(o),
        explanation: "the guest read a value other than the one the profile sets",
      });
    } else if (exp.kind === "value" && o.outcome === "readable") {
      // Not a match either: a view from queries that did not record the value (planProbe always records it).
      out.push({
        ...namedMsr(msr),
        class: "msr-value",
        expected: hex64(exp.value),
        observed: observedOf(o),
        explanation: "the profile sets this MSR's value, but the guest check did not record what the guest read",
      });
    }
  }
  return out;
}

/** The feature-MSR values KVM_SET_MSRS refused, if any: the promise could not even be installed. */
function refusedMsrs(config: ProbedConfig, view: GuestView): Difference[] {
  const done = view.msrsSetDone ?? config.msrs.length;
  // Without msrsRefused, KVM stopped at the first refusal and nothing after it was set.
  const refusedSet = view.msrsRefused ? new Set(view.msrsRefused) : null;
  const refused = refusedSet ? config.msrs.filter((m) => refusedSet.has(m.index)) : config.msrs.slice(done, done + 1);
  const unset = refusedSet ? 0 : config.msrs.length - done - 1;
  return refused.map((r) => {
    const gate = gateOf(r.index);
    const rewritten = gate !== undefined && msrGateOpen(config.cpuid, r.index) && !msrGateOpen(view.kvmCpuid, r.index);
    const tail = unset > 0 ? `; the ${unset} MSR value(s) after it were not set either` : "";
    return {
      class: rewritten ? "hypervisor-rewrite" : "msr-value",
      name: msrName(r.index),
      msr: r.index,
      expected: hex64(r.value),
      observed: "refused",
      explanation: rewritten
        ? `KVM_SET_MSRS refused the value because the hypervisor removed ${gateBitNames(gate!)} from the CPUID table cpuprof set${tail}`
        : `KVM_SET_MSRS refused the value the profile sets${tail}`,
    } satisfies Difference;
  });
}

/** Write-only MSRs a guest OS uses (PRED_CMD, FLUSH_CMD): the probe only reads, so they are checked against the filter. */
function writeOnlyMsrs(config: ProbedConfig, needs: ReadonlyMap<number, OsMsrNeed>): Difference[] {
  if (!config.msrFilter) return [];
  const out: Difference[] = [];
  for (const need of needs.values()) {
    if (need.use.access !== "write-only" || filterDecision(config.msrFilter, need.msr, "write") === "allow") continue;
    out.push({
      name: msrName(need.msr),
      msr: need.msr,
      class: "os-msr-fault",
      expected: "writable",
      observed: "denied by the filter",
      explanation: `${usedBecause(need)} (${need.use.why}), but the profile's MSR filter denies writes to it (checked against the filter: the probe does not write)`,
    });
  }
  return out;
}

/** Every difference between the guest's view and the promise of `config`, in probe order (CPUID, then MSRs). */
export function classify(
  config: ProbedConfig,
  host: Pick<HostCapture, "vendor" | "featureMsrs" | "msrIndexList">,
  view: GuestView,
): Difference[] {
  // KVM picks the out-of-range rule from the vendor string of the table it holds.
  const vendor = vendorOf(config.cpuid) ?? host.vendor;
  // MSR values KVM refused to set are reported once, then only promised as readable.
  const refused = view.msrsRefused ? new Set(view.msrsRefused) : null;
  const installed = {
    ...config,
    msrs: refused
      ? config.msrs.filter((m) => !refused.has(m.index))
      : config.msrs.slice(0, view.msrsSetDone ?? config.msrs.length),
  };
  const needs = osNeeds(config.cpuid, host.vendor);
  return [
    ...classifyCpuid(config, vendor, view),
    ...refusedMsrs(config, view),
    ...classifyMsrs(installed, needs, view),
    ...writeOnlyMsrs(config, needs),
  ];
}
