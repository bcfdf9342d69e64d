// Real hosts (Firecracker fingerprints from ../shared/fixtures): generated profiles applied and migrated.
import { describe, expect, test } from "bun:test";
import { decodeCpuid2, encodeCpuid2 } from "../../src/kvm/layout.ts";
import { REGISTERS, findCpuid } from "../../src/model/cpuid.ts";
import { findAdjustment } from "../../src/model/profile.ts";
import { bitMask32 } from "../../src/fields/bits.ts";
import { cpuidFieldsFor, policyFor } from "../../src/policy/index.ts";
import { applyProfile, effectivePermittedMsrs } from "../../src/profile/apply.ts";
import { topologyMask } from "../../src/profile/topology.ts";
import { filterDecision, knownMsrsOf } from "../../src/profile/filter.ts";
import { generateProfile } from "../../src/profile/generate.ts";
import { FIXTURE_HOSTS, fixtureHost, fixturesMissing } from "../helpers/fixtures.ts";

if (fixturesMissing) console.log(`skipping apply fixture tests: ${fixturesMissing}`);
const fixtureTest = fixturesMissing ? test.skip : test;

const problemNames = (r: { problems: { name: string }[] }) => r.problems.map((p) => p.name);

describe("applyProfile on real hosts", () => {
  fixtureTest("a profile generated from a host, applied to it, is compatible and reproduces every fixed bit", () => {
    for (const { name } of FIXTURE_HOSTS) {
      const host = fixtureHost(name);
      const { profile } = generateProfile(host, { name });
      const cfg = applyProfile(profile, host);
      const policy = policyFor(host.vendor);
      expect({ name, problems: cfg.report.problems }).toEqual({ name, problems: [] });
      expect(cfg.report.compatible).toBe(true);
      for (const e of cfg.cpuid) {
        for (const r of REGISTERS) {
          const a = findAdjustment(profile, e.function, e.index, r);
          if (!a) continue;
          // per-vCPU fields and nested-only bits are the two things apply sets over the profile
          const nestedBits = cpuidFieldsFor(policy, e.function, e.index, r)
            .filter((f) => f.nested)
            .reduce((m, f) => m | bitMask32(f.lsb, f.msb), 0);
          const fixed = (~a.mask & ~topologyMask(host.vendor, e.function, e.index, r) & ~nestedBits) >>> 0;
          expect((e[r] & fixed) >>> 0).toBe((a.replacements & fixed) >>> 0);
        }
      }
      // the encoding a VMM loads decodes back to the same table, within KVM's limit
      expect(cfg.cpuid.length).toBeLessThanOrEqual(256);
      expect(decodeCpuid2(encodeCpuid2(cfg.cpuid))).toEqual(cfg.cpuid);
      // the filter denies exactly the known MSRs the profile does not permit
      const permitted = new Set(effectivePermittedMsrs(profile.permittedMsrs, {}));
      for (const msr of knownMsrsOf(host)) {
        const want = permitted.has(msr) || (msr >= 0x800 && msr <= 0x8ff) ? "allow" : "deny";
        expect({ msr, d: filterDecision(cfg.msrFilter!, msr, "read") }).toEqual({ msr, d: want });
      }
    }
  });

  fixtureTest("is deterministic and puts the vCPU id in the APIC id fields", () => {
    const host = fixtureHost("sapphire-rapids");
    const { profile } = generateProfile(host, { name: "sapphire-rapids" });
    const a = applyProfile(profile, host, { vcpuId: 5, vcpuCount: 8 });
    const b = applyProfile(profile, host, { vcpuId: 5, vcpuCount: 8 });
    expect(encodeCpuid2(b.cpuid)).toEqual(encodeCpuid2(a.cpuid));
    expect(b).toEqual(a);
    expect(findCpuid(a.cpuid, 1)!.ebx >>> 24).toBe(5);
    expect(findCpuid(a.cpuid, 0xb, 0)!.edx).toBe(5);
  });

  fixtureTest("a Sapphire Rapids profile on Skylake is incompatible, naming avx512_fp16 and amx_tile", () => {
    const { profile } = generateProfile(fixtureHost("sapphire-rapids"), { name: "sapphire-rapids" });
    const r = applyProfile(profile, fixtureHost("skylake")).report;
    expect(r.compatible).toBe(false);
    expect(problemNames(r)).toContain("avx512_fp16");
    expect(problemNames(r)).toContain("amx_tile");
  });

  fixtureTest("a Skylake profile on Sapphire Rapids is compatible", () => {
    const { profile } = generateProfile(fixtureHost("skylake"), { name: "skylake" });
    const r = applyProfile(profile, fixtureHost("sapphire-rapids")).report;
    expect(r.problems).toEqual([]);
    expect(r.compatible).toBe(true);
  });

  fixtureTest("applyProfile takes well under 50 µs per call on a real host (cached per profile and host)", () => {
    const host = fixtureHost("sapphire-rapids");
    const { profile } = generateProfile(host, { name: "sapphire-rapids" });
    for (let i = 0; i < 200; i++) applyProfile(profile, host, { vcpuId: i & 7, vcpuCount: 8 });
    const n = 2000;
    const t = performance.now();
    for (let i = 0; i < n; i++) applyProfile(profile, host, { vcpuId: i & 7, vcpuCount: 8 });
    const perCall = ((performance.now() - t) * 1000) / n;
    // generous bound for loaded CI machines; the goal is 50 µs
    expect(perCall).toBeLessThan(200);
  });
});
