import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { diffConfigs } from "../../src/fleet/diff.ts";
import { formatDiff } from "../../src/fleet/diff-format.ts";
import { syntheticFleet } from "../../src/fleet/synthetic.ts";
import type { HostCapture } from "../../src/model/host.ts";
import type { Profile } from "../../src/model/profile.ts";
import { policyFor } from "../../src/policy/index.ts";
import { fixtureHost, FLEET, HAVE_FIXTURES, INTEL } from "./hosts.ts";
import { cpuidField } from "./policy-lookup.ts";

/** A hand-made profile over one host: every register fixed to the host's value except those listed, left to the host. */
function profileOf(
  h: HostCapture,
  leftToHost: { leaf: number; register: "eax" | "ebx" | "ecx" | "edx" }[] = [],
): Profile {
  return {
    name: "test",
    version: 1,
    vendor: h.vendor,
    kind: "profile",
    description: "",
    sourceHosts: [],
    toolVersion: "0",
    cpuid: h.cpuid.flatMap((e) =>
      (["eax", "ebx", "ecx", "edx"] as const).map((register) => {
        const toHost = leftToHost.some((x) => x.leaf === e.function && x.register === register);
        return {
          leaf: e.function,
          subleaf: { start: e.index, end: e.index },
          register,
          replacements: toHost ? 0 : e[register],
          mask: toHost ? 0xffffffff : 0,
        };
      }),
    ),
    msrs: h.featureMsrs.map((m) => ({ index: m.index, replacements: m.value, mask: 0n })),
    permittedMsrs: h.msrIndexList,
  };
}

describe.skipIf(!HAVE_FIXTURES)("diffConfigs", () => {
  test("Skylake vs Sapphire Rapids: avx512_fp16 and AMX only in B, MPX only in A, RRSBA only in B", () => {
    const d = diffConfigs(fixtureHost("skylake"), fixtureHost("sapphire-rapids"));
    const onlyB = d.cpuid.onlyInB.map((x) => x.name);
    expect(onlyB).toContain("avx512_fp16");
    expect(onlyB).toContain("amx_tile");
    expect(d.cpuid.onlyInA.map((x) => x.name)).toContain("mpx");
    expect(onlyB).not.toContain("avx512f"); // both have it
    expect(d.msrs.onlyInB.map((x) => x.name)).toContain("rrsba");
    expect(d.cpuid.numeric.find((n) => n.name === "max_basic_leaf")).toEqual({
      name: "max_basic_leaf",
      where: "0x0.0.eax[31:0]",
      a: "0x16",
      b: "0x1f",
    });
    expect(d.equal).toBe(false);
    const fp16 = cpuidField("intel", "avx512_fp16");
    expect(d.cpuid.onlyInB.find((x) => x.name === "avx512_fp16")!.where).toBe(
      `0x${fp16.leaf.toString(16)}.${fp16.subleaves.start}.${fp16.register}[${fp16.lsb}]`,
    );
    const text = formatDiff(d, "skylake", "sapphire-rapids").replace(/\n +(?=[a-z0-9])/g, " "); // lists fold under a hanging indent
    for (const line of formatDiff(d, "skylake", "sapphire-rapids").split("\n"))
      expect(line.length).toBeLessThanOrEqual(100);
    expect(text).toMatch(/CPUID features only in sapphire-rapids: .*\bavx512_fp16\b/);
    expect(text).toMatch(/MSR features only in sapphire-rapids: .*\brrsba\b/);
  });

  test("swapping the sides swaps only-in-A and only-in-B", () => {
    const a = fixtureHost("icelake"),
      b = fixtureHost("granite-rapids");
    const ab = diffConfigs(a, b),
      ba = diffConfigs(b, a);
    expect(ba.cpuid.onlyInA).toEqual(ab.cpuid.onlyInB);
    expect(ba.cpuid.onlyInB).toEqual(ab.cpuid.onlyInA);
    expect(ba.permitted.onlyInA).toEqual(ab.permitted.onlyInB);
  });

  test("every host and a profile fixing it are equal to themselves, and formatted as no differences", () => {
    for (const { label, host } of FLEET) {
      const d = diffConfigs(host, host);
      expect(d.equal).toBe(true);
      expect(formatDiff(d, label, label)).toBe(`${label} and ${label}: no differences\n`);
      expect(diffConfigs(profileOf(host), profileOf(host)).equal).toBe(true);
    }
  });

  test("a profile that fixes a host's values differs from the host only where it leaves fields to the host", () => {
    const h = fixtureHost("skylake");
    const max = cpuidField("intel", "max_basic_leaf");
    expect(diffConfigs(profileOf(h), h).equal).toBe(true);
    const d = diffConfigs(profileOf(h, [{ leaf: max.leaf, register: max.register }]), h);
    expect(d.equal).toBe(false);
    expect(d.cpuid.leftToHost).toEqual([
      { name: "max_basic_leaf", where: "0x0.0.eax[31:0]", leftToHostIn: "a", fixed: "0x16" },
    ]);
    expect(formatDiff(d, "p", "h")).toContain("max_basic_leaf (0x0.0.eax[31:0]): left to the host in p, h fixes 0x16");
  });

  test("an Intel and an AMD capture differ in vendor", () => {
    const d = diffConfigs(fixtureHost("skylake"), fixtureHost("milan"));
    expect(d.vendor).toEqual({ a: "intel", b: "amd" });
    expect(d.equal).toBe(false);
  });

  test("property: a copy with features removed differs exactly in features only in the original", () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 0, max: INTEL.length - 1 }), (seed, k) => {
        const base = INTEL[k]!;
        const [copy] = syntheticFleet([base], { count: 1, seed, removeRate: 0.1 });
        const d = diffConfigs(base.host, copy!.host);
        // removing a feature clears a subset bit or sets a superset (bad-news, inverted) bit
        const superset = new Set(
          policyFor("intel")
            .cpuid.filter((f) => f.compare === "superset")
            .map((f) => f.name),
        );
        expect(d.cpuid.onlyInB.filter((x) => !superset.has(x.name))).toEqual([]);
        expect(d.cpuid.numeric).toEqual([]);
        expect(d.cpuid.leftToHost).toEqual([]);
        expect(d.equal).toBe(
          d.cpuid.onlyInA.length + d.cpuid.onlyInB.length + d.msrs.onlyInA.length + d.msrs.onlyInB.length === 0,
        );
        // the formatted text does not depend on anything but the diff
        expect(formatDiff(d, "a", "b")).toBe(formatDiff(diffConfigs(base.host, copy!.host), "a", "b"));
      }),
      { numRuns: 30 },
    );
  });
});
