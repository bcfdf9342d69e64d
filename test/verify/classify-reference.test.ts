// classify compares registers first and splits only the differing words into fields (issue 15: a cold verify runs it
// once, in the interpreter). Its differences (classes, names, explanations, order) must be exactly those of the
// reference, which walks the whole split of every differing register, for every config and every guest view.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { embeddedProfile, embeddedProfileNames } from "../../src/embedded/profiles.ts";
import { REGISTERS, type CpuidEntry, type Register } from "../../src/model/cpuid.ts";
import type { HostCapture } from "../../src/model/host.ts";
import { vendorOf, type Vendor } from "../../src/model/vendor.ts";
import { applyProfile, guestPermittedMsrs } from "../../src/profile/apply.ts";
import { knownMsrsOf } from "../../src/profile/filter.ts";
import { classify, type GuestView as ClassifiedView } from "../../src/verify/classify.ts";
import { expectedMsr, msrValuesWanted, resolveCpuid, type ProbedConfig } from "../../src/verify/expect.ts";
import { MSR_CPUID_GATES } from "../../src/verify/msr-gates.ts";
import { planProbe, type ProbePlan } from "../../src/verify/plan.ts";
import { allFixtureHosts, fixturesMissing } from "../helpers/fixtures.ts";
import { classifyReference, type GuestView } from "./classify-reference.ts";
import { SAMPLE_PERMITTED, sampleConfig, sampleHost } from "./fixtures.ts";

type Host = Pick<HostCapture, "vendor" | "featureMsrs" | "msrIndexList">;

interface Case {
  label: string;
  config: ProbedConfig;
  host: Host;
  plan: ProbePlan;
}

function cases(): Case[] {
  const out: Case[] = (["intel", "amd"] as const).map((vendor) => {
    const config = sampleConfig(vendor);
    const host = sampleHost(vendor);
    return { label: `sample ${vendor}`, config, host, plan: planProbe(config, host, SAMPLE_PERMITTED) };
  });
  if (fixturesMissing) return out;
  for (const name of embeddedProfileNames()) {
    const profile = embeddedProfile(name)!;
    for (const f of allFixtureHosts()) {
      const config = applyProfile(profile, f.host, { checkGuestMsrs: false });
      const permitted = guestPermittedMsrs(profile, knownMsrsOf(f.host), {});
      out.push({ label: `${name} on ${f.label}`, config, host: f.host, plan: planProbe(config, f.host, permitted) });
    }
  }
  return out;
}

/** What a guest sees when KVM holds `table`: every probe answered by KVM's lookup, every MSR as promised. */
function guestOf(c: Case, table: readonly CpuidEntry[]): GuestView {
  const vendor: Vendor = vendorOf(table) ?? c.host.vendor;
  return {
    cpuid: c.plan.cpuid.map((q) => ({
      function: q.function,
      index: q.index,
      ...resolveCpuid(table, vendor, q.function, q.index).regs,
    })),
    msrs: c.plan.msrs.map((index) => {
      const e = expectedMsr(c.config, c.host, index);
      return e.kind === "fault"
        ? { index, outcome: "fault" as const, value: 0n }
        : { index, outcome: "value" as const, value: e.kind === "value" ? e.value : 0x1234n };
    }),
    kvmCpuid: [...table],
  };
}

const xorMask = fc.oneof(
  fc.integer({ min: 0, max: 31 }).map((b) => (1 << b) >>> 0),
  fc.integer({ min: 0, max: 0xffff_ffff }),
  fc
    .tuple(fc.integer({ min: 0, max: 31 }), fc.integer({ min: 0, max: 31 }))
    .map(([a, b]) => ((1 << a) | (1 << b)) >>> 0),
);
const wordEdit = fc.record({ at: fc.nat(), register: fc.constantFrom(...REGISTERS), mask: xorMask });
type WordEdit = { at: number; register: Register; mask: number };

const xorWord = <T extends Record<Register, number>>(o: T, e: WordEdit): T => ({
  ...o,
  [e.register]: (o[e.register] ^ e.mask) >>> 0,
});

/** A gate bit of an MSR (kvm-x86.md): flipping these in a table moves an MSR between readable and #GP. */
const GATE_BITS = MSR_CPUID_GATES.flatMap((g) => g.anyOf);

function flipGateBit(table: CpuidEntry[], which: number): CpuidEntry[] {
  if (GATE_BITS.length === 0) return table;
  const b = GATE_BITS[which % GATE_BITS.length]!;
  return table.map((e) =>
    e.function === b.leaf && e.index === b.subleaf ? { ...e, [b.register]: (e[b.register] ^ (1 << b.bit)) >>> 0 } : e,
  );
}

const perturbation = fc.record({
  /** Edits of the table the guest's answers come from (KVM's, after its rewrites). */
  kvmEdits: fc.array(wordEdit, { maxLength: 6 }),
  kvmGateFlips: fc.array(fc.nat(), { maxLength: 3 }),
  kvmDrop: fc.option(fc.nat(), { nil: undefined }),
  /** Edits of the config (the promise), before the guest saw it. */
  configGateFlips: fc.array(fc.nat(), { maxLength: 2 }),
  /** Edits of what the guest saw, on top of KVM's table (not in KVM_GET_CPUID2). */
  obsEdits: fc.array(wordEdit, { maxLength: 8 }),
  msrEdits: fc.array(
    fc.record({
      at: fc.nat(),
      kind: fc.constantFrom("flip", "bit", "value"),
      bit: fc.integer({ min: 0, max: 63 }),
      exit: fc.option(fc.constantFrom("msr-exit", "filter"), { nil: undefined }),
    }),
    { maxLength: 6 },
  ),
  set: fc.oneof(
    fc.constant({ kind: "all" as const }),
    fc.nat().map((n) => ({ kind: "done" as const, n })),
    fc.array(fc.nat(), { maxLength: 3 }).map((refused) => ({ kind: "refused" as const, refused })),
  ),
});

type Perturbation = typeof perturbation extends fc.Arbitrary<infer T> ? T : never;

function perturbed(c: Case, p: Perturbation) {
  let config = c.config;
  if (p.configGateFlips.length > 0) {
    let cpuid = config.cpuid;
    for (const g of p.configGateFlips) cpuid = flipGateBit(cpuid, g);
    config = { ...config, cpuid };
  }
  let kvm = [...config.cpuid];
  for (const e of p.kvmEdits) if (kvm.length > 0) kvm[e.at % kvm.length] = xorWord(kvm[e.at % kvm.length]!, e);
  for (const g of p.kvmGateFlips) kvm = flipGateBit(kvm, g);
  if (p.kvmDrop !== undefined && kvm.length > 1) kvm.splice(p.kvmDrop % kvm.length, 1);
  const base = guestOf({ ...c, config }, kvm);
  const cpuid = [...base.cpuid];
  for (const e of p.obsEdits)
    if (cpuid.length > 0) cpuid[e.at % cpuid.length] = xorWord(cpuid[e.at % cpuid.length]!, e);
  const msrs = [...base.msrs];
  for (const e of p.msrEdits) {
    if (msrs.length === 0) break;
    const i = e.at % msrs.length;
    const o = msrs[i]!;
    const exit = e.exit === undefined ? {} : { exit: e.exit };
    msrs[i] =
      e.kind === "flip"
        ? { index: o.index, outcome: o.outcome === "fault" ? "value" : "fault", value: 0n, ...exit }
        : e.kind === "bit"
          ? { ...o, value: o.value ^ (1n << BigInt(e.bit)) }
          : { ...o, outcome: "value", value: BigInt(e.bit) * 0x1_0000_0001n };
  }
  const view: GuestView = { cpuid, msrs, kvmCpuid: kvm };
  const n = config.msrs.length;
  if (p.set.kind === "done") view.msrsSetDone = n === 0 ? 0 : p.set.n % (n + 1);
  if (p.set.kind === "refused") view.msrsRefused = n === 0 ? [] : p.set.refused.map((k) => config.msrs[k % n]!.index);
  return { config, view };
}

describe("classify matches the reference classification", () => {
  const all = cases();
  if (fixturesMissing) console.log(`skip: classify over fixture hosts: ${fixturesMissing}`);

  test("a guest that sees exactly KVM's table, on every profile x fixture host", () => {
    for (const c of all) {
      const view = guestOf(c, c.config.cpuid);
      expect(classify(c.config, c.host, view)).toEqual(classifyReference(c.config, c.host, view));
    }
  });

  test("property: any perturbation of KVM's table, the guest's answers and the MSR outcomes", () => {
    fc.assert(
      fc.property(fc.nat({ max: all.length - 1 }), perturbation, (i, p) => {
        const c = all[i]!;
        const { config, view } = perturbed(c, p);
        const fast = classify(config, c.host, view);
        expect(fast).toEqual(classifyReference(config, c.host, view));
      }),
      { numRuns: 1500 },
    );
  });

  test("property: the same differences from a guest that records only the values the plan wants", () => {
    fc.assert(
      fc.property(fc.nat({ max: all.length - 1 }), perturbation, (i, p) => {
        const c = all[i]!;
        const { config, view } = perturbed(c, p);
        // as planProbe marks them (plan-reference checks it): an MSR promised readable keeps only its outcome
        const wanted = msrValuesWanted(
          config,
          view.msrs.map((o) => o.index),
        );
        const recorded: ClassifiedView = {
          ...view,
          msrs: view.msrs.map(({ value, ...o }, k) =>
            o.outcome === "value" && !wanted[k] ? { ...o, outcome: "readable" as const } : { ...o, value },
          ),
        };
        expect(classify(config, c.host, recorded)).toEqual(classifyReference(config, c.host, view));
      }),
      { numRuns: 1500 },
    );
  });

  test("property: random words in every probed register", () => {
    fc.assert(
      fc.property(
        fc.nat({ max: all.length - 1 }),
        fc.array(fc.integer({ min: 0, max: 0xffff_ffff }), { minLength: 8, maxLength: 8 }),
        (i, words) => {
          const c = all[i]!;
          const base = guestOf(c, c.config.cpuid);
          let k = 0;
          const view: GuestView = {
            ...base,
            cpuid: base.cpuid.map((o) => {
              const w = words[k++ % words.length]!;
              return { ...o, eax: (o.eax ^ w) >>> 0, ebx: o.ebx, ecx: (o.ecx ^ (w >>> 3)) >>> 0, edx: o.edx };
            }),
          };
          expect(classify(c.config, c.host, view)).toEqual(classifyReference(c.config, c.host, view));
        },
      ),
      { numRuns: 100 },
    );
  });
});
