import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { REGISTERS, type CpuidEntry } from "../../src/model/cpuid.ts";
import type { Vendor } from "../../src/model/vendor.ts";
import { msrName } from "../../src/catalogue/index.ts";
import { classify, type GuestView } from "../../src/verify/classify.ts";
import { verdict } from "../../src/verify/difference.ts";
import { expectedCpuid, expectedMsr, type ProbedConfig } from "../../src/verify/expect.ts";
import { planProbe } from "../../src/verify/plan.ts";
import { SAMPLE_PERMITTED, sampleConfig, sampleHost, sampleTable } from "./fixtures.ts";
import { buildMsrFilter, knownMsrsOf } from "../../src/profile/filter.ts";

type Obs = GuestView["cpuid"][number];

/** A guest that sees exactly the promise. */
function perfectGuest(
  config: ProbedConfig,
  vendor: Vendor,
): { cpuid: Obs[]; msrs: { index: number; outcome: "value" | "fault"; value: bigint }[]; kvmCpuid: CpuidEntry[] } {
  const host = sampleHost(vendor);
  const plan = planProbe(config, host, SAMPLE_PERMITTED);
  return {
    cpuid: plan.cpuid.map((q) => ({
      function: q.function,
      index: q.index,
      ...expectedCpuid(config.cpuid, vendor, q.function, q.index),
    })),
    msrs: plan.msrs.map((index) => {
      const e = expectedMsr(config, host, index);
      return e.kind === "fault"
        ? { index, outcome: "fault" as const, value: 0n }
        : { index, outcome: "value" as const, value: e.kind === "value" ? e.value : 0x1234n };
    }),
    kvmCpuid: config.cpuid,
  };
}

const setBit = (
  table: CpuidEntry[],
  fn: number,
  idx: number,
  reg: "eax" | "ebx" | "ecx" | "edx",
  bit: number,
  on: boolean,
) =>
  table.map((e) =>
    e.function === fn && e.index === idx ? { ...e, [reg]: (on ? e[reg] | (1 << bit) : e[reg] & ~(1 << bit)) >>> 0 } : e,
  );

function flipObserved(
  view: ReturnType<typeof perfectGuest>,
  fn: number,
  idx: number,
  reg: "eax" | "ebx" | "ecx" | "edx",
  bit: number,
) {
  return {
    ...view,
    cpuid: view.cpuid.map((o) =>
      o.function === fn && o.index === idx ? { ...o, [reg]: (o[reg] ^ (1 << bit)) >>> 0 } : o,
    ),
  };
}

describe("classify", () => {
  for (const vendor of ["intel", "amd"] as const) {
    const config = sampleConfig(vendor);
    const host = sampleHost(vendor);
    const perfect = perfectGuest(config, vendor);

    test(`${vendor}: a guest that sees exactly the promise gives no difference`, () => {
      expect(classify(config, host, perfect)).toEqual([]);
    });

    test(`${vendor}: property: every single-bit change in any register of any probed leaf is found and classified`, () => {
      fc.assert(
        fc.property(
          fc.nat({ max: perfect.cpuid.length - 1 }),
          fc.constantFrom(...REGISTERS),
          fc.integer({ min: 0, max: 31 }),
          (i, reg, bit) => {
            const q = perfect.cpuid[i]!;
            const diffs = classify(config, host, flipObserved(perfect, q.function, q.index, reg, bit));
            const hit = diffs.filter(
              (d) =>
                d.leaf === q.function &&
                d.subleaf === q.index &&
                d.register === reg &&
                d.bits!.lsb <= bit &&
                bit <= d.bits!.msb,
            );
            expect(hit.length).toBe(1);
            expect(diffs.length).toBe(1);
            expect(verdict(diffs, new Set())).toBe(hit[0]!.class === "kvm-runtime");
          },
        ),
        { numRuns: 300 },
      );
    });

    test(`${vendor}: property: every MSR outcome flip or value change is found`, () => {
      fc.assert(
        fc.property(fc.nat({ max: perfect.msrs.length - 1 }), fc.integer({ min: 0, max: 63 }), (i, bit) => {
          const o = perfect.msrs[i]!;
          const exp = expectedMsr(config, host, o.index);
          const changed =
            o.outcome === "fault"
              ? { ...o, outcome: "value" as const, value: 0n }
              : exp.kind === "value" && bit % 2 === 0
                ? { ...o, value: o.value ^ (1n << BigInt(bit)) }
                : { ...o, outcome: "fault" as const };
          const diffs = classify(config, host, {
            ...perfect,
            msrs: perfect.msrs.map((m, k) => (k === i ? changed : m)),
          });
          expect(diffs.length).toBe(1);
          expect(diffs[0]!.msr).toBe(o.index);
          expect(["msr-readable", "msr-fault", "msr-value", "os-msr-fault"]).toContain(diffs[0]!.class);
          expect(verdict(diffs, new Set())).toBe(false);
        }),
        { numRuns: 200 },
      );
    });
  }

  const config = sampleConfig("amd");
  const host = sampleHost("amd");
  const perfect = perfectGuest(config, "amd");

  test("a hidden feature the guest sees is feature-exposed, by its Linux name", () => {
    const diffs = classify(config, host, flipObserved(perfect, 7, 0, "ebx", 16));
    expect(diffs).toMatchObject([
      {
        class: "feature-exposed",
        name: "avx512f",
        leaf: 7,
        subleaf: 0,
        register: "ebx",
        expected: "0x0",
        observed: "0x1",
      },
    ]);
  });

  test("a promised feature the guest lacks is feature-missing", () => {
    const diffs = classify(config, host, flipObserved(perfect, 1, 0, "ecx", 26));
    expect(diffs).toMatchObject([{ class: "feature-missing", name: "xsave" }]);
  });

  test("OSXSAVE and the XSAVE size are KVM runtime adjustments: listed, and the check still passes", () => {
    let view = flipObserved(perfect, 1, 0, "ecx", 27);
    view = { ...view, cpuid: view.cpuid.map((o) => (o.function === 0xd && o.index === 0 ? { ...o, ebx: 0x988 } : o)) };
    const diffs = classify(config, host, view);
    expect(diffs.map((d) => [d.class, d.name])).toEqual([
      ["kvm-runtime", "osxsave"],
      ["kvm-runtime", "xsave_size_xcr0"],
    ]);
    expect(verdict(diffs, new Set())).toBe(true);
  });

  test("a change KVM_GET_CPUID2 also shows is the hypervisor's rewrite (kvm_pvm: host-native avx, arch_capabilities dropped)", () => {
    const rewritten = setBit(setBit(config.cpuid, 1, 0, "ecx", 28, true), 7, 0, "edx", 29, false);
    let view = flipObserved(perfect, 1, 0, "ecx", 28);
    view = flipObserved(view, 7, 0, "edx", 29);
    view = {
      ...view,
      kvmCpuid: rewritten,
      msrs: view.msrs.map((m) => (m.index === 0x10a ? { ...m, outcome: "fault" as const, value: 0n } : m)),
    };
    const diffs = classify(config, host, view);
    expect(diffs.map((d) => [d.class, d.name])).toEqual([
      ["hypervisor-rewrite", "avx"],
      ["hypervisor-rewrite", "arch_capabilities"],
      ["hypervisor-rewrite", msrName(0x10a)],
    ]);
    expect(verdict(diffs, new Set())).toBe(false);
    expect(verdict(diffs, new Set(["hypervisor-rewrite"]))).toBe(true);
  });

  test("a multi-bit field that differs is one field-mismatch, named by the catalogue", () => {
    const view = {
      ...perfect,
      cpuid: perfect.cpuid.map((o) => (o.function === 1 ? { ...o, eax: (o.eax ^ 0x30) >>> 0 } : o)),
    };
    expect(classify(config, host, view)).toMatchObject([
      { class: "field-mismatch", bits: { lsb: 4, msb: 7 }, name: "model", expected: "0x1", observed: "0x2" },
    ]);
  });

  test("adjacent bits the catalogue does not know form one field-mismatch with their location", () => {
    // 0x80000008 ECX[11:8] is not a catalogued field or feature
    const view = {
      ...perfect,
      cpuid: perfect.cpuid.map((o) => (o.function === 0x80000008 ? { ...o, ecx: (o.ecx ^ 0x300) >>> 0 } : o)),
    };
    expect(classify(config, host, view)).toMatchObject([
      { class: "field-mismatch", bits: { lsb: 8, msb: 9 }, name: "0x80000008.0.ecx[9:8]" },
    ]);
  });

  test("out-of-range CPUID not as documented for the vendor is out-of-range", () => {
    // AMD promises zeros past the max basic leaf; an Intel-style answer (the max basic leaf's data) is a finding
    const intelStyle = expectedCpuid(sampleTable("intel"), "intel", 0xe, 0);
    const view = { ...perfect, cpuid: perfect.cpuid.map((o) => (o.function === 0xe ? { ...o, ...intelStyle } : o)) };
    const diffs = classify(config, host, view);
    expect(diffs.length).toBeGreaterThan(0);
    expect(new Set(diffs.map((d) => d.class))).toEqual(new Set(["out-of-range"]));
  });

  test("a denied MSR that reads is msr-readable; a set MSR with another value is msr-value", () => {
    const view = {
      ...perfect,
      msrs: perfect.msrs.map((m) =>
        m.index === 0x1db ? { ...m, outcome: "value" as const } : m.index === 0x8b ? { ...m, value: 0x01000099n } : m,
      ),
    };
    expect(classify(config, host, view)).toMatchObject([
      { class: "msr-value", msr: 0x8b, expected: "0x1000065", observed: "0x1000099" },
      { class: "msr-readable", msr: 0x1db, expected: "fault" },
    ]);
  });

  test("a read whose value was not recorded: no difference where only readable is promised, never a match for a value", () => {
    const unrecorded = (indices: number[]) => ({
      ...perfect,
      msrs: perfect.msrs.map((m) => (indices.includes(m.index) ? { index: m.index, outcome: "readable" as const } : m)),
    });
    const readableOnly = perfect.msrs.filter((m) => expectedMsr(config, host, m.index).kind === "readable");
    expect(readableOnly.length).toBeGreaterThan(0);
    expect(classify(config, host, unrecorded(readableOnly.map((m) => m.index)))).toEqual([]);
    // a value the profile sets, or a read where a fault is promised, is not taken for a value of 0 nor for a match
    expect(classify(config, host, unrecorded([0x8b, 0x1db]))).toMatchObject([
      { class: "msr-value", msr: 0x8b, expected: "0x1000065", observed: "readable" },
      { class: "msr-readable", msr: 0x1db, expected: "fault", observed: "readable" },
    ]);
  });
});

describe("classify: feature-MSR values KVM refused to set", () => {
  const config = sampleConfig("amd");
  const host = sampleHost("amd");
  const perfect = perfectGuest(config, "amd");
  const at = config.msrs.findIndex((m) => m.index === 0x10a);

  test("a refusal caused by the hypervisor dropping arch_capabilities is its rewrite, reported once", () => {
    const kvmCpuid = setBit(config.cpuid, 7, 0, "edx", 29, false);
    const view = {
      ...flipObserved(perfect, 7, 0, "edx", 29),
      kvmCpuid,
      msrsSetDone: at,
      msrs: perfect.msrs.map((m) => (m.index === 0x10a ? { ...m, outcome: "fault" as const, value: 0n } : m)),
    };
    const diffs = classify(config, host, view).filter((d) => d.msr === 0x10a);
    expect(diffs).toMatchObject([
      { class: "hypervisor-rewrite", observed: "refused" },
      { class: "hypervisor-rewrite", observed: "fault" },
    ]);
  });

  test("a refusal with the CPUID gate intact is an msr-value failure", () => {
    const diffs = classify(config, host, { ...perfect, msrsSetDone: at });
    expect(diffs).toMatchObject([{ class: "msr-value", msr: 0x10a, observed: "refused" }]);
    expect(verdict(diffs, new Set())).toBe(false);
  });

  test("with msrsRefused (configureVcpu goes on past a refusal) each refused value is named once and the later values are still checked", () => {
    const [first, second] = config.msrs;
    const wrongSecond = {
      ...perfect,
      msrsSetDone: 0,
      msrsRefused: [first!.index],
      msrs: perfect.msrs.map((m) => (m.index === second!.index ? { ...m, value: m.value ^ 1n } : m)),
    };
    const diffs = classify(config, host, wrongSecond).filter((d) => d.class === "msr-value");
    expect(diffs).toMatchObject([
      { msr: first!.index, observed: "refused", explanation: "KVM_SET_MSRS refused the value the profile sets" },
      { msr: second!.index },
    ]);
    // without msrsRefused, KVM stopped at the refusal: later values are not promised, and the tail is named
    const stopped = classify(config, host, { ...wrongSecond, msrsRefused: undefined }).filter(
      (d) => d.class === "msr-value",
    );
    expect(stopped.map((d) => d.msr)).toEqual([first!.index]);
    expect(stopped[0]!.explanation).toEndWith("were not set either");
  });
});

describe("write-only MSRs a guest OS uses", () => {
  test("PRED_CMD is checked against the filter: denied for writes while the guest sees IBPB is an os-msr-fault", () => {
    const table = sampleTable("intel").map((e) =>
      e.function === 7 && e.index === 0 ? { ...e, edx: e.edx | (1 << 26) } : e,
    ); // spec_ctrl: IBRS and IBPB
    const host = { ...sampleHost("intel"), msrIndexList: [...sampleHost("intel").msrIndexList, 0x49] };
    const safe = sampleConfig("intel", table);
    const perfect = perfectGuest(safe, "intel");
    expect(classify(safe, host, perfect).filter((d) => d.msr === 0x49)).toEqual([]);
    const unsafe = {
      ...safe,
      msrFilter: buildMsrFilter(
        knownMsrsOf(host),
        SAMPLE_PERMITTED.filter((m) => m !== 0x49),
      ),
    };
    const d = classify(unsafe, host, perfectGuest(unsafe, "intel")).find((x) => x.msr === 0x49);
    expect(d).toMatchObject({ class: "os-msr-fault", expected: "writable", observed: "denied by the filter" });
    expect(d!.explanation).toContain("spec_ctrl");
  });
});
