import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { findCpuid } from "../../src/model/cpuid.ts";
import { applyProfileWith } from "../../src/profile/apply.ts";
import { coreIdBits } from "../../src/profile/topology.ts";
import { context, entry, host, INTEL_SIG, passthroughProfile } from "./apply-helpers.ts";

// Host values with every topology bit set, so the test sees the per-vCPU fields replace them.
const ones = 0xffffffff;
const intelHost = host([
  entry(0, 0, { eax: 0x1f, ...INTEL_SIG }),
  entry(1, 0, { eax: 0x50654, ebx: ones, ecx: 0, edx: 0 }),
  entry(4, 0, { eax: ones }, 1),
  entry(4, 3, { eax: ones }, 1),
  entry(0xb, 0, { eax: ones, ebx: ones, ecx: ones, edx: ones }, 1),
  entry(0xb, 1, { eax: ones, ebx: ones, ecx: ones, edx: ones }, 1),
  entry(0xb, 2, { eax: ones, ebx: ones, ecx: ones, edx: ones }, 1),
  entry(0x1f, 0, { eax: ones, edx: ones }, 1),
  entry(0x1f, 1, { eax: ones, edx: ones }, 1),
  entry(0x80000000, 0, { eax: 0x8000001e }),
  entry(0x80000008, 0, { eax: 0x3027, ecx: ones }),
  entry(0x8000001e, 0, { eax: ones, ebx: ones }),
]);
const amdHost = { ...intelHost, vendor: "amd" as const };
const amdProfile = { ...passthroughProfile(intelHost), vendor: "amd" as const };

const topologyArb = fc
  .integer({ min: 1, max: 4096 })
  .chain((n) => fc.record({ vcpuCount: fc.constant(n), vcpuId: fc.integer({ min: 0, max: n - 1 }) }));

describe("per-vCPU CPUID fields (one socket, one thread per core)", () => {
  test("APIC ids follow the vCPU id and counts follow the vCPU count (Intel)", () => {
    fc.assert(
      fc.property(topologyArb, ({ vcpuId, vcpuCount }) => {
        const t = applyProfileWith(context(), passthroughProfile(intelHost), intelHost, { vcpuId, vcpuCount }).cpuid;
        const l1 = findCpuid(t, 1)!;
        expect(l1.ebx >>> 24).toBe(vcpuId & 0xff);
        expect((l1.ebx >>> 16) & 0xff).toBe(Math.min(vcpuCount, 255));
        expect(l1.ebx & 0xffff).toBe(0xffff); // CLFLUSH size and brand index stay the host's
        expect((l1.edx >>> 28) & 1).toBe(vcpuCount > 1 ? 1 : 0);
        for (const sub of [0, 3]) expect(findCpuid(t, 4, sub)!.eax >>> 26).toBe(Math.min(vcpuCount - 1, 63));
        for (const leaf of [0xb, 0x1f]) {
          const smt = findCpuid(t, leaf, 0)!,
            core = findCpuid(t, leaf, 1)!;
          expect([smt.eax, smt.ebx, smt.ecx, smt.edx]).toEqual([0, 1, 0x100, vcpuId]);
          expect([core.eax, core.ebx, core.ecx, core.edx]).toEqual([coreIdBits(vcpuCount), vcpuCount, 0x201, vcpuId]);
        }
        const invalid = findCpuid(t, 0xb, 2)!;
        expect([invalid.eax, invalid.ebx, invalid.ecx, invalid.edx]).toEqual([0, 0, 2, vcpuId]);
        // AMD-only fields keep the host's value on Intel
        expect(findCpuid(t, 0x80000008)!.ecx).toBe(ones);
        expect(findCpuid(t, 0x8000001e)!.eax).toBe(ones);
      }),
      { numRuns: 60 },
    );
  });

  test("AMD: NC, extended APIC id and core id", () => {
    const t = applyProfileWith(context(), amdProfile, amdHost, { vcpuId: 5, vcpuCount: 8 }).cpuid;
    expect(findCpuid(t, 0x80000008)!.ecx).toBe(0xffffff07);
    expect(findCpuid(t, 0x8000001e)!.eax).toBe(5);
    expect(findCpuid(t, 0x8000001e)!.ebx & 0xffff).toBe(0x0005);
    expect(findCpuid(t, 4, 0)!.eax).toBe(ones); // Intel-only cores-per-package field untouched
  });

  test("the core level's shift is the bits needed to number every vCPU", () => {
    expect([1, 2, 3, 4, 5, 8, 9, 256, 257].map(coreIdBits)).toEqual([0, 1, 2, 2, 3, 3, 4, 8, 9]);
  });

  test("leaves the host lacks are not invented", () => {
    const h = host([entry(0, 0, { eax: 1, ...INTEL_SIG }), entry(1, 0)]);
    expect(
      applyProfileWith(context(), passthroughProfile(h), h, { vcpuCount: 4 }).cpuid.map((e) => e.function),
    ).toEqual([0, 1]);
  });
});
