// Self-checks of the policy tables: the data must be consistent before any code can trust it.
import { describe, expect, test } from "bun:test";
import { cpuidFeatureAt } from "../../src/catalogue/index.ts";
import { cpuidFieldsFor, msrFieldsFor, msrRuleFor, policyFor } from "../../src/policy/index.ts";
import type { Policy } from "../../src/policy/types.ts";

const POLICIES: Policy[] = [policyFor("intel"), policyFor("amd")];

function overlaps(a: { start: number; end: number }, b: { start: number; end: number }): boolean {
  return a.start <= b.end && b.start <= a.end;
}

describe.each(POLICIES.map((p) => [p.vendor, p] as const))("%s table", (_vendor, policy) => {
  test("no two CPUID fields share a bit of the same register and subleaf", () => {
    const clashes: string[] = [];
    const fields = policy.cpuid;
    for (let i = 0; i < fields.length; i++)
      for (let j = i + 1; j < fields.length; j++) {
        const a = fields[i]!,
          b = fields[j]!;
        if (
          a.leaf === b.leaf &&
          a.register === b.register &&
          overlaps(a.subleaves, b.subleaves) &&
          a.lsb <= b.msb &&
          b.lsb <= a.msb
        )
          clashes.push(`${a.name} / ${b.name}`);
      }
    expect(clashes).toEqual([]);
  });

  test("CPUID bit ranges lie within 0..31, subleaf ranges are ordered, static values fit", () => {
    for (const f of policy.cpuid) {
      expect(f.lsb >= 0 && f.lsb <= f.msb && f.msb <= 31, f.name).toBe(true);
      expect(f.subleaves.start <= f.subleaves.end, f.name).toBe(true);
      if (f.action.kind === "static")
        expect(f.action.value >= 0 && f.action.value < 2 ** (f.msb - f.lsb + 1), f.name).toBe(true);
    }
  });

  test("no two MSR fields share a bit; ranges within 0..63; static values fit", () => {
    for (const f of policy.msrFields) {
      expect(f.lsb >= 0 && f.lsb <= f.msb && f.msb <= 63, f.name).toBe(true);
      if (f.action.kind === "static")
        expect(f.action.value >= 0 && f.action.value < 2 ** (f.msb - f.lsb + 1), f.name).toBe(true);
      const same = msrFieldsFor(policy, f.index).filter((g) => g !== f && g.lsb <= f.msb && f.lsb <= g.msb);
      expect(
        same.map((g) => g.name),
        f.name,
      ).toEqual([]);
    }
  });

  test("MSR access rules do not overlap", () => {
    const rules = [...policy.msrs].sort((a, b) => a.index - b.index);
    for (let i = 1; i < rules.length; i++)
      expect(rules[i]!.index > (rules[i - 1]!.last ?? rules[i - 1]!.index), rules[i]!.name).toBe(true);
  });

  test("field names are unique, so reports name exactly one field (AMD's 0x80000001 EDX copies of leaf-1 bits share their name and report once)", () => {
    const alias = (f: (typeof policy.cpuid)[number]) =>
      f.lsb === f.msb && cpuidFeatureAt(f.leaf, f.subleaves.start, f.register, f.lsb)?.aliasOfLeaf1Edx === true;
    const names = [...policy.cpuid.filter((f) => !alias(f)).map((f) => f.name), ...policy.msrFields.map((f) => f.name)];
    const dupes = names.filter((n, i) => names.indexOf(n) !== i);
    expect(dupes).toEqual([]);
  });

  test("every static or nested rule says why", () => {
    const silent = [...policy.cpuid, ...policy.msrFields]
      .filter((f) => (f.action.kind === "static" || f.nested) && !f.why)
      .map((f) => f.name);
    expect(silent).toEqual([]);
  });

  test("every feature MSR with fields has an access rule marked feature", () => {
    for (const f of policy.msrFields) expect(msrRuleFor(policy, f.index)?.feature, f.name).toBe(true);
  });
});

const single = (p: Policy, leaf: number, sub: number, reg: "eax" | "ebx" | "ecx" | "edx", bit: number) =>
  cpuidFieldsFor(p, leaf, sub, reg).find((f) => f.lsb <= bit && bit <= f.msb);

describe("the choices the profiles rely on", () => {
  const intel = policyFor("intel");
  const amd = policyFor("amd");
  const hiddenBits: [number, number, "eax" | "ebx" | "ecx" | "edx", number, string][] = [
    [0x1, 0, "ecx", 3, "monitor"],
    [0x1, 0, "ecx", 15, "pdcm"],
    [0x1, 0, "edx", 21, "dts"],
    [0x7, 0, "ebx", 2, "sgx"],
    [0x7, 0, "ebx", 4, "hle"],
    [0x7, 0, "ebx", 11, "rtm"],
    [0x7, 0, "ebx", 14, "mpx"],
    [0x7, 0, "ebx", 25, "intel_pt"],
    [0x7, 0, "ecx", 30, "sgx_lc"],
    [0x7, 0, "edx", 16, "tsxldtrk"],
    [0xa, 0, "eax", 0, "pmu_version"],
    [0x14, 0, "ebx", 0, "cr3_filtering"],
    [0x12, 1, "eax", 0, "sgx_leaf_eax"],
  ];
  test.each(hiddenBits)("Intel %i.%i %s[%i] %s is static 0", (leaf, sub, reg, bit, name) => {
    const f = single(intel, leaf, sub, reg, bit);
    expect(f?.name).toBe(name);
    expect(f?.action).toEqual({ kind: "static", value: 0 });
  });

  test("x2APIC and the hypervisor bit are forced on; ARAT inherited, the rest of leaf 6 hidden", () => {
    expect(single(intel, 1, 0, "ecx", 21)?.action).toEqual({ kind: "static", value: 1 });
    expect(single(amd, 1, 0, "ecx", 31)?.action).toEqual({ kind: "static", value: 1 });
    expect(single(intel, 6, 0, "eax", 2)?.action.kind).toBe("inherit");
    expect(single(intel, 6, 0, "eax", 0)?.action.kind).toBe("static");
  });

  test("VMX and SVM are nested features; AMD hides its PMU leaf", () => {
    expect(single(intel, 1, 0, "ecx", 5)?.nested).toBe(true);
    expect(single(amd, 0x80000001, 0, "ecx", 2)?.nested).toBe(true);
    expect(single(amd, 0x8000000a, 0, "edx", 0)?.nested).toBe(true);
    expect(single(amd, 0x80000022, 0, "ebx", 3)?.action).toEqual({ kind: "static", value: 0 });
  });

  test("ARCH_CAPABILITIES: RSBA and RRSBA forced on as superset, MDS_NO and ITS_NO subset features, undefined bits hidden as a subset", () => {
    const bit = (n: number) => msrFieldsFor(intel, 0x10a).find((f) => f.lsb <= n && n <= f.msb);
    expect(bit(2)).toMatchObject({ name: "rsba", action: { kind: "static", value: 1 }, compare: "superset" });
    expect(bit(19)).toMatchObject({ name: "rrsba", action: { kind: "static", value: 1 }, compare: "superset" });
    expect(bit(5)).toMatchObject({ name: "mds_no", action: { kind: "inherit" }, compare: "subset" });
    expect(bit(62)).toMatchObject({ name: "its_no", action: { kind: "inherit" }, compare: "subset" });
    for (const n of [16, 22, 30, 40, 63])
      expect(bit(n)).toMatchObject({ action: { kind: "static", value: 0 }, compare: "subset" });
  });

  test("MSR access: PMU denied, kvmclock permitted, Hyper-V flagged, VMX capabilities nested", () => {
    expect(msrRuleFor(intel, 0xc1)?.access).toBe("denied");
    expect(msrRuleFor(amd, 0xc0010004)?.access).toBe("denied");
    expect(msrRuleFor(intel, 0x4b564d01)?.access).toBe("permitted");
    expect(msrRuleFor(intel, 0x40000070)?.hyperv).toBe(true);
    expect(msrRuleFor(intel, 0x48b)?.nested).toBe(true);
    expect(msrRuleFor(intel, 0x205)?.implicit).toBe(true);
    expect(msrRuleFor(intel, 0x12345678)).toBeUndefined();
  });
});
