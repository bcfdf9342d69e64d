// Compatibility as compiled masks: a (profile, policy) pair compiled once into per-register masks
// and limits, so that checking a host is a few AND/compare operations per register. The compiler
// derives everything from the policy's compare rules; a register whose masks fail, and any field
// whose rule the compiler does not know how to turn into masks, is evaluated by the reference's own
// per-field functions (cpuidFieldFails, cpuidFieldProblem), so the reports are exactly the reference's.
import { INDEXED_LEAVES, isIndexedLeaf, type Register } from "../model/cpuid.ts";
import type { HostCapture } from "../model/host.ts";
import { memoByObject } from "../model/memo.ts";
import type { Profile } from "../model/profile.ts";
import { bitMask32, bitMask64, OPS32, OPS64 } from "../fields/bits.ts";
import { featureView, type RegisterSlot } from "../fields/view.ts";
import {
  addToMasks,
  appliesToHiddenRegister,
  hasMaskForm,
  emptyMasks,
  failingMasks,
  isLimit,
  type RuleMasks,
} from "../fields/rules.ts";
import { cpuidFieldsIn, policyFor } from "../policy/index.ts";
import type { CpuidField } from "../policy/index.ts";
import {
  cpuidFieldCompared,
  cpuidFieldFails,
  cpuidFieldProblem,
  knownHostMsrs,
  msrCheckOutcome,
  msrCheckProblemNames,
  msrCheckProblems,
  msrChecks,
  type MsrCheckOutcome,
  type MsrCheck,
  permittedNotes,
  permittedToNote,
  reportWithoutFields,
  type CompatOptions,
  type CompatProblem,
  type CompatReport,
} from "./compat.ts";

export interface CompiledCompatibility {
  readonly profile: Profile;
  /** The same report as checkCompatibility(profile, host, options). */
  check(host: HostCapture): CompatReport;
  /**
   * check's verdict and the names of its problems, each once, in its order, without building the reports
   * (a matrix shows only these): the same decisions, a fraction of the work on a host that fails many fields.
   */
  missing(host: HostCapture): { compatible: boolean; missing: string[] };
}

/** The field properties the mask compiler understands (a policy rule's, types.ts FieldRule, and its place); a field with any other is evaluated field by field. */
const RULE_KEYS = ["lsb", "msb", "name", "action", "compare", "nested", "why"] as const;
const MASKED_FIELD_KEYS: ReadonlySet<string> = new Set(["leaf", "subleaves", "register", ...RULE_KEYS]);

function maskable(field: CpuidField): boolean {
  if (!hasMaskForm(field.compare)) return false;
  for (const k in field) if (!MASKED_FIELD_KEYS.has(k)) return false;
  return true;
}

/** One register at one subleaf, with the fields checked there. */
interface CompiledRegister {
  leaf: number;
  subleaf: number;
  register: Register;
  /** The profile's fixed value (replacements & ~mask). */
  value: number;
  /** Bits whose fields fail when the profile has them and the host does not (subset), and so on. */
  subset: number;
  superset: number;
  eq: number;
  /** The profile's fixed bits (~mask): only these of the host's value count. */
  fixed: number;
  /** le fields: lsb, width mask, the profile's field value. */
  limits: { lsb: number; mask: number; value: number }[];
  /** Fields evaluated one by one on every host (rules without a mask form). */
  opaque: number[];
  /** Every field checked here (policy order); those a mask or limit flags are evaluated one by one. */
  fields: number[];
  /** What the profile fixes and leaves to the host in this register. */
  slot: RegisterSlot;
}

/** (field, subleaf) pairs grouped by register: key -> field ids. */
type Pairs = Map<string, { leaf: number; subleaf: number; register: Register; fields: Set<number> }>;

function addPair(pairs: Pairs, field: CpuidField, id: number, subleaf: number): void {
  const key = `${field.leaf}:${subleaf}:${field.register}`;
  let g = pairs.get(key);
  if (!g) pairs.set(key, (g = { leaf: field.leaf, subleaf, register: field.register, fields: new Set() }));
  g.fields.add(id);
}

/**
 * The (leaf, subleaf) keys of a host's indexed-leaf entries in table order, as one string, made once per host:
 * hosts with the same string have the same subleaves of every indexed leaf, so the same registers to check under
 * any profile (its ranged fields are on indexed leaves). A key only: two orders of one set merely miss the cache.
 */
const subleafSignature = memoByObject((host: HostCapture): string => {
  let signature = "";
  for (const e of host.cpuid) if (INDEXED_LEAVES.has(e.function)) signature += `${e.function}:${e.index}.`;
  return signature;
});

/** Every MSR index a host's KVM knows, as a set made once per host (for permittedNotes). */
const knownMsrsCached = memoByObject(knownHostMsrs);

/** A feature-MSR check as 64-bit masks; null masks when a field's rule has no mask form. */
interface CompiledMsrCheck {
  check: MsrCheck;
  masks: { value: bigint; fixed: bigint; rules: RuleMasks<bigint>; fieldBits: Map<MsrField, bigint> } | null;
}

type MsrField = MsrCheck["fields"][number];

const MSR_FIELD_KEYS: ReadonlySet<string> = new Set(["index", ...RULE_KEYS]);

function compileMsrCheck(check: MsrCheck): CompiledMsrCheck {
  const value = check.adj.replacements & check.fixed;
  const rules = emptyMasks(OPS64);
  const fieldBits = new Map<MsrField, bigint>();
  for (const f of check.fields) {
    for (const k in f) if (!MSR_FIELD_KEYS.has(k)) return { check, masks: null };
    const bits = bitMask64(f.lsb, f.msb);
    fieldBits.set(f, bits);
    if (!addToMasks(rules, f, bits & check.fixed, value, OPS64)) return { check, masks: null };
  }
  return { check, masks: { value, fixed: check.fixed, rules, fieldBits } };
}

/** A feature-MSR check's outcome (msrCheckOutcome's), its masks first: undefined when they clear every field. */
function msrOutcome(m: CompiledMsrCheck, host: HostCapture): MsrCheckOutcome | undefined {
  const hostMsr = m.masks && host.featureMsrs.find((x) => x.index === m.check.adj.index);
  if (!hostMsr || !m.masks) return msrCheckOutcome(m.check, host);
  const f = failingMasks(m.masks.rules, m.masks.value, hostMsr.value & m.masks.fixed);
  if (f.bits === 0n && !f.limit) return undefined;
  const { fieldBits } = m.masks;
  return msrCheckOutcome(
    m.check,
    host,
    (field) => (f.limit && isLimit(field.compare)) || (fieldBits.get(field)! & f.bits) !== 0n,
  );
}

export function compileCompatibility(profile: Profile, options: CompatOptions = {}): CompiledCompatibility {
  if (profile.kind === "host") {
    const check = (host: HostCapture) => reportWithoutFields(profile, host)!;
    return { profile, check, missing: (host) => namesOf(check(host)) };
  }
  const policy = policyFor(profile.vendor);
  const profileView = featureView(profile);
  const fields = cpuidFieldsIn(policy);
  const compared = fields.map((f) => cpuidFieldCompared(f, options));
  const isMaskable = fields.map(maskable);
  const fieldBits = fields.map((f) => bitMask32(f.lsb, f.msb));

  // Subleaves fixed by the profile alone; the host adds its own subleaves of ranged, indexed leaves.
  const fixedPairs: Pairs = new Map();
  const rangedByLeaf = new Map<number, number[]>();
  fields.forEach((f, id) => {
    if (!compared[id]) return;
    const { start, end } = f.subleaves;
    if (start === end) return addPair(fixedPairs, f, id, start);
    if (!isIndexedLeaf(f.leaf)) return addPair(fixedPairs, f, id, 0);
    for (const subleaf of profileView.subleavesIn(f.leaf, f.register, start, end)) addPair(fixedPairs, f, id, subleaf);
    const list = rangedByLeaf.get(f.leaf);
    if (list) list.push(id);
    else rangedByLeaf.set(f.leaf, [id]);
  });

  function compileRegister(
    leaf: number,
    subleaf: number,
    register: Register,
    ids: readonly number[],
  ): CompiledRegister {
    const slot = profileView.register(leaf, subleaf, register);
    const fixed = ~slot.hostBits >>> 0;
    const value = slot.fixed;
    const masks = emptyMasks(OPS32);
    const r: CompiledRegister = {
      leaf,
      subleaf,
      register,
      value,
      fixed,
      subset: 0,
      superset: 0,
      eq: 0,
      limits: [],
      opaque: [],
      fields: [...ids].sort((a, b) => a - b),
      slot,
    };
    for (const id of r.fields) {
      const f = fields[id]!;
      if (!isMaskable[id]) {
        r.opaque.push(id);
        continue;
      }
      if (!slot.present && !appliesToHiddenRegister(f.compare)) continue; // as the reference: no equality on a hidden register
      const bits = (bitMask32(f.lsb, f.msb) & fixed) >>> 0;
      if (bits === 0) continue; // passed through
      addToMasks(masks, f, bits, value, OPS32);
    }
    r.subset = masks.subset;
    r.superset = masks.superset;
    r.eq = masks.eq;
    r.limits = masks.limits;
    // Bits that cannot fail on any host: a subset bit the profile clears, a superset bit it sets, a limit of 0.
    r.subset &= value;
    r.superset &= ~value;
    r.limits = r.limits.filter((l) => l.value > 0);
    return r;
  }
  // compiled once per (register, set of fields): hosts with the same subleaves share them
  const compiledRegisters = new Map<string, CompiledRegister>();
  function compiled(leaf: number, subleaf: number, register: Register, ids: Set<number>): CompiledRegister {
    const sorted = [...ids].sort((a, b) => a - b);
    const key = `${leaf}:${subleaf}:${register}:${sorted.join(",")}`;
    let r = compiledRegisters.get(key);
    if (!r) compiledRegisters.set(key, (r = compileRegister(leaf, subleaf, register, sorted)));
    return r;
  }
  /** Registers where some host could fail; the others are left out of every check. */
  const canFail = (r: CompiledRegister) =>
    r.subset !== 0 || r.superset !== 0 || r.eq !== 0 || r.limits.length > 0 || r.opaque.length > 0;
  /** Each fixed pair's register compiled once, by its key: the hosts' extra subleaves add to some of them. */
  const fixedCompiled = new Map<string, CompiledRegister>();
  for (const [key, g] of fixedPairs) fixedCompiled.set(key, compiled(g.leaf, g.subleaf, g.register, g.fields));
  const fixedRegisters = [...fixedCompiled.values()].filter(canFail);

  const candidates = permittedToNote(policy, profile);
  const msrs = msrChecks(policy, profile, options).map(compileMsrCheck);

  // Hosts of a fleet share few sets of subleaves: the registers to check are cached per set.
  const bySubleaves = new Map<string, CompiledRegister[]>(); // keyed by the host's subleaves, filled from that host
  function registersFor(host: HostCapture): CompiledRegister[] {
    if (rangedByLeaf.size === 0) return fixedRegisters;
    const signature = subleafSignature(host);
    let registers = bySubleaves.get(signature);
    if (!registers) {
      const hv = featureView(host);
      const subleaves = new Map(
        [...rangedByLeaf.keys()].map((leaf) => [leaf, hv.subleavesIn(leaf, "eax", 0, 0xffffffff)]),
      );
      bySubleaves.set(signature, (registers = registersForSubleaves(subleaves)));
    }
    return registers;
  }
  function registersForSubleaves(subleaves: ReadonlyMap<number, readonly number[]>): CompiledRegister[] {
    let extra: Pairs | undefined;
    for (const [leaf, ids] of rangedByLeaf)
      for (const index of subleaves.get(leaf) ?? [])
        for (const id of ids) {
          const f = fields[id]!;
          if (index < f.subleaves.start || index > f.subleaves.end) continue;
          if (fixedPairs.get(`${f.leaf}:${index}:${f.register}`)?.fields.has(id)) continue;
          addPair((extra ??= new Map()), f, id, index);
        }
    if (!extra) return fixedRegisters;
    const out: CompiledRegister[] = [];
    for (const [key, g] of fixedPairs) {
      const more = extra.get(key);
      if (!more) out.push(fixedCompiled.get(key)!);
      else {
        out.push(compiled(g.leaf, g.subleaf, g.register, new Set([...g.fields, ...more.fields])));
        extra.delete(key);
      }
    }
    for (const g of extra.values()) out.push(compiled(g.leaf, g.subleaf, g.register, g.fields));
    return out.filter(canFail);
  }

  /** The CPUID fields the host fails, in the reference's order (policy field order, then ascending subleaf). */
  function failingCpuidFields(host: HostCapture): CpuidFailure[] {
    const hv = featureView(host);
    const found: CpuidFailure[] = [];
    for (const r of registersFor(host)) {
      const h = hv.fixedAt(r.leaf, r.subleaf, r.register);
      const failing = (r.value & ~h & r.subset) | (h & ~r.value & r.superset) | ((r.value ^ h) & r.eq);
      let limitFailed = false;
      const hf = (h & r.fixed) >>> 0;
      for (const l of r.limits) if (l.value > ((hf >>> l.lsb) & l.mask) >>> 0) limitFailed = true;
      if (failing === 0 && !limitFailed && r.opaque.length === 0) continue;
      // Only fields whose bits failed a mask, every le field once a limit failed, and the opaque ones.
      for (const id of r.fields) {
        const f = fields[id]!;
        const suspect = !isMaskable[id] || (limitFailed && isLimit(f.compare)) || (failing & fieldBits[id]!) !== 0;
        if (suspect && cpuidFieldFails(f, r.slot, h)) found.push({ id, subleaf: r.subleaf, slot: r.slot, host: h });
      }
    }
    return found.sort((a, b) => a.id - b.id || a.subleaf - b.subleaf);
  }

  function check(host: HostCapture): CompatReport {
    const trivial = reportWithoutFields(profile, host);
    if (trivial) return trivial;
    const problems: CompatProblem[] = [];
    for (const x of failingCpuidFields(host))
      problems.push(cpuidFieldProblem(fields[x.id]!, x.subleaf, x.slot, x.host)!);
    const notes: string[] = [];
    for (const m of msrs) {
      const outcome = msrOutcome(m, host);
      if (outcome) problems.push(...msrCheckProblems(m.check, outcome, notes));
    }
    notes.push(...permittedNotes(candidates, knownMsrsCached(host)));
    return { compatible: problems.length === 0, problems, notes };
  }

  function missing(host: HostCapture): { compatible: boolean; missing: string[] } {
    const trivial = reportWithoutFields(profile, host);
    if (trivial) return namesOf(trivial);
    const names = new Set<string>();
    for (const x of failingCpuidFields(host)) names.add(fields[x.id]!.name);
    for (const m of msrs) {
      const outcome = msrOutcome(m, host);
      if (outcome) for (const name of msrCheckProblemNames(m.check, outcome)) names.add(name);
    }
    return { compatible: names.size === 0, missing: [...names] };
  }
  return { profile, check, missing };
}

/** A report's verdict and the names of its problems, each once, in its order. */
function namesOf(report: CompatReport): { compatible: boolean; missing: string[] } {
  return { compatible: report.compatible, missing: [...new Set(report.problems.map((p) => p.name))] };
}

/** A CPUID field the host fails at one subleaf, with what cpuidFieldProblem needs to report it. */
interface CpuidFailure {
  id: number;
  subleaf: number;
  slot: RegisterSlot;
  host: number;
}
