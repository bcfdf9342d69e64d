// Guest safety: a profile is one a real guest OS boots and keeps running on. Every MSR a guest OS uses for an
// advertised feature is reachable through the filter, no hidden feature's MSR is, XSAVE and AMX leaves describe
// only what the guest has, and baselines and compatibility read fields by their architectural meaning.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { guestOsMsrsFor, osMsrIndices } from "../../src/catalogue/guest-os-msrs.ts";
import { embeddedProfile, embeddedProfileNames } from "../../src/embedded/profiles.ts";
import { InputError } from "../../src/errors.ts";
import { baselineHost } from "../../src/fleet/baseline.ts";
import { baselineProfile } from "../../src/fleet/baseline-profile.ts";
import { importChv } from "../../src/formats/chv.ts";
import { importFirecrackerTemplate } from "../../src/formats/firecracker-template.ts";
import { findCpuid, type CpuidEntry } from "../../src/model/cpuid.ts";
import type { HostCapture } from "../../src/model/host.ts";
import type { Profile } from "../../src/model/profile.ts";
import { xsaveComponents } from "../../src/policy/index.ts";
import { applyProfile } from "../../src/profile/apply.ts";
import { checkCompatibility } from "../../src/profile/compat.ts";
import { filterDecision, knownMsrsOf } from "../../src/profile/filter.ts";
import { generateProfile } from "../../src/profile/generate.ts";
import { guestMsrProblems, tableAdvertises } from "../../src/profile/guest-msrs.ts";
import { FIXTURES_DIR, allFixtureHosts, fixturesMissing } from "../helpers/fixtures.ts";
import { host, profile } from "./apply-helpers.ts";

const fixtureTest = fixturesMissing ? test.skip : test;
if (fixturesMissing) console.log(`skip: guest safety over fixture hosts: ${fixturesMissing}`);

/**
 * KVM_GET_MSR_INDEX_LIST of a real 6.18 KVM (kvm-x86.md section 4). The Firecracker fingerprints list only the
 * MSRs Firecracker saves, so each fixture host is given this list too: the filter denies only MSRs a host knows.
 */
const REAL_KVM_MSR_INDEX_LIST = [
  0x174, 0x175, 0x176, 0xc0000081, 0xc0000083, 0xc0000102, 0xc0000084, 0xc0000082, 0x10, 0x277, 0xc0010117, 0x48, 0x1d9,
  0x1db, 0x1dc, 0x1dd, 0x1de, 0x12, 0x11, 0x4b564d01, 0x4b564d00, 0x4b564d02, 0x4b564d03, 0x4b564d04, 0x4b564d06,
  0x4b564d07, 0x3b, 0x6e0, 0x10a, 0x345, 0x1a0, 0x17a, 0x17b, 0x34, 0xce, 0x140, 0xc001011f, 0x1fc, 0x8b, 0xc0010015,
  0x4b564d05,
  // and the MSRs KVM lists where the host has the feature
  0xda0, 0xe1, 0x1c4, 0x1c5, 0x6a0, 0x6a2, 0x6a4, 0x6a5, 0x6a6, 0x6a7, 0x6a8, 0x10b, 0x49, 0x3a, 0xc0000103, 0x4b564d08,
];

const withRealKvmList = (h: HostCapture): HostCapture => ({
  ...h,
  msrIndexList: [...new Set([...h.msrIndexList, ...REAL_KVM_MSR_INDEX_LIST])].sort((a, b) => a - b),
});

const embedded = (): Profile[] =>
  embeddedProfileNames()
    .map((n) => embeddedProfile(n)!)
    .filter((p) => p.kind !== "host");

/** Every OS-table MSR the applied guest CPUID makes a guest OS use must pass the filter; every one it hides must not, where the host knows it. */
function filterProblems(profile: Profile, host: HostCapture): string[] {
  const cfg = applyProfile(profile, host);
  const known = new Set(knownMsrsOf(host));
  const out: string[] = [];
  const needed = new Set<number>();
  for (const use of guestOsMsrsFor(profile.vendor)) {
    const uses = use.anyOf.length === 0 || use.anyOf.some((f) => tableAdvertises(cfg.cpuid, f));
    for (const msr of osMsrIndices(use)) {
      if (!uses) continue;
      needed.add(msr);
      for (const access of use.access === "read-only"
        ? (["read"] as const)
        : use.access === "write-only"
          ? (["write"] as const)
          : (["read", "write"] as const))
        if (filterDecision(cfg.msrFilter!, msr, access) !== "allow")
          out.push(
            `${profile.name}: ${msr.toString(16)} ${access} denied though ${use.anyOf.join("|") || "architectural"} is advertised`,
          );
    }
  }
  for (const use of guestOsMsrsFor(profile.vendor))
    for (const msr of osMsrIndices(use))
      if (!needed.has(msr) && known.has(msr) && filterDecision(cfg.msrFilter!, msr, "read") === "allow")
        out.push(`${profile.name}: ${msr.toString(16)} readable though ${use.anyOf.join("|")} is hidden`);
  return out;
}

describe("the MSR filter lets a guest OS use what the profile advertises, and nothing it hides", () => {
  fixtureTest("every embedded profile on every fixture host it applies to (with a real KVM's MSR list)", () => {
    let checked = 0;
    for (const p of embedded())
      for (const { host } of allFixtureHosts()) {
        const h = withRealKvmList(host);
        if (!applyProfile(p, h).report.compatible) continue;
        expect(filterProblems(p, h)).toEqual([]);
        checked++;
      }
    expect(checked).toBeGreaterThan(30);
  });

  fixtureTest("a profile generated from any fixture host, and a baseline of any set of them, is consistent", () => {
    const hosts = allFixtureHosts().map((h) => withRealKvmList(h.host));
    for (const h of hosts) {
      const { profile } = generateProfile(h, { name: "g" });
      expect(guestMsrProblems(profile)).toEqual([]);
      expect(filterProblems(profile, h)).toEqual([]);
    }
    const intel = hosts.filter((h) => h.vendor === "intel");
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: intel.length - 1 }), { minLength: 1, maxLength: 4 }),
        (picks) => {
          const { profile } = baselineProfile(
            picks.map((i) => intel[i]!),
            { name: "fleet" },
          );
          expect(guestMsrProblems(profile)).toEqual([]);
          for (const i of picks) expect(filterProblems(profile, intel[i]!)).toEqual([]);
        },
      ),
      { numRuns: 25 },
    );
  });

  fixtureTest("imported Cloud Hypervisor and Firecracker profiles are consistent", () => {
    const chvDir = join(FIXTURES_DIR, "cloud-hypervisor");
    for (const f of readdirSync(chvDir).filter((x) => x.endsWith(".json"))) {
      const vendor = f.toLowerCase().includes("amd") ? "amd" : "intel";
      const p = importChv(readFileSync(join(chvDir, f), "utf8"), undefined, { name: "chv", vendor, cpuidFile: f });
      expect({ f, problems: guestMsrProblems(p) }).toEqual({ f, problems: [] });
    }
    const fcDir = join(FIXTURES_DIR, "firecracker-templates");
    for (const f of readdirSync(fcDir).filter((x) => /^T2|^C3/.test(x))) {
      const vendor = f.includes("T2A") ? "amd" : "intel";
      const p = importFirecrackerTemplate(readFileSync(join(fcDir, f), "utf8"), f, { name: "fc", vendor });
      expect({ f, problems: guestMsrProblems(p) }).toEqual({ f, problems: [] });
    }
  });

  fixtureTest(
    "apply refuses a profile that advertises tsc_deadline_timer without permitting 0x6e0, naming both",
    () => {
      const skylake = embeddedProfile("skylake")!;
      const broken: Profile = {
        ...skylake,
        name: "broken",
        permittedMsrs: skylake.permittedMsrs.filter((m) => m !== 0x6e0),
      };
      const host = allFixtureHosts()[0]!.host;
      let err: unknown;
      try {
        applyProfile(broken, host);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InputError);
      expect((err as Error).message).toContain("tsc_deadline_timer");
      expect((err as Error).message).toContain("0x6e0");
      // verify opts out to show what a guest sees under it
      expect(applyProfile(broken, host, { checkGuestMsrs: false }).report.compatible).toBe(true);
    },
  );

  test("apply refuses a profile that permits the MSR of a feature it hides", () => {
    const p = profile({ name: "leaky", permittedMsrs: [0x6e0] });
    const problems = guestMsrProblems(p);
    expect(problems.find((x) => x.msr === 0x6e0)).toMatchObject({
      kind: "os-msr-permitted",
      features: ["tsc_deadline_timer"],
    });
    expect(problems.some((x) => x.kind === "os-msr-denied" && x.msr === 0x1d9)).toBe(true); // DEBUGCTL: every OS
  });
});

describe("leaves that describe hidden features are zero", () => {
  const xsaveSize = (t: readonly CpuidEntry[]) => {
    const d0 = findCpuid(t, 0xd, 0)!;
    const xcr0 = BigInt(d0.eax) | (BigInt(d0.edx) << 32n);
    let size = 0x240;
    for (const e of t)
      if (e.function === 0xd && e.index >= 2 && e.index < 64 && (xcr0 >> BigInt(e.index)) & 1n)
        size = Math.max(size, e.eax + e.ebx);
    return size;
  };

  fixtureTest(
    "skylake on Granite Rapids: no AMX, CET or MPX component subleaf, no AMX leaf, and 0xD.0 ECX sized for the profile's XCR0",
    () => {
      const gnr = allFixtureHosts().find((h) => h.label === "granite-rapids-6.1")!.host;
      const cfg = applyProfile(embeddedProfile("skylake")!, gnr);
      for (const sub of [3, 4, 0xb, 0xc, 0x11, 0x12]) {
        const e = findCpuid(cfg.cpuid, 0xd, sub);
        expect({ sub, regs: e && [e.eax, e.ebx, e.ecx, e.edx] }).toEqual({ sub, regs: e ? [0, 0, 0, 0] : undefined });
      }
      for (const leaf of [0x1d, 0x1e])
        for (const e of cfg.cpuid.filter((x) => x.function === leaf))
          expect([e.eax, e.ebx, e.ecx, e.edx]).toEqual([0, 0, 0, 0]);
      const hostEcx = findCpuid(gnr.cpuid, 0xd, 0)!.ecx;
      expect(findCpuid(cfg.cpuid, 0xd, 0)!.ecx).toBe(xsaveSize(cfg.cpuid));
      expect(findCpuid(cfg.cpuid, 0xd, 0)!.ecx).toBeLessThan(hostEcx);
    },
  );

  fixtureTest(
    "every embedded profile on every host it applies to: 0xD subleaves outside XCR0|XSS are zero and 0xD.0 ECX fits XCR0",
    () => {
      for (const p of embedded())
        for (const { label, host } of allFixtureHosts()) {
          const cfg = applyProfile(p, host);
          if (!cfg.report.compatible) continue;
          const components = xsaveComponents(cfg.cpuid);
          for (const e of cfg.cpuid)
            if (e.function === 0xd && e.index >= 2 && !((components >> BigInt(e.index)) & 1n))
              expect({ p: p.name, label, sub: e.index, regs: [e.eax, e.ebx, e.ecx, e.edx] }).toEqual({
                p: p.name,
                label,
                sub: e.index,
                regs: [0, 0, 0, 0],
              });
          expect(findCpuid(cfg.cpuid, 0xd, 0)!.ecx).toBe(xsaveSize(cfg.cpuid));
        }
    },
  );
});

describe("baselines across kernels", () => {
  fixtureTest(
    "Sapphire Rapids on 5.10 and 6.1 baselines: AMX layout disagreement does not block when AMX is not in the result",
    () => {
      const spr = allFixtureHosts()
        .filter((h) => h.generation === "sapphire-rapids")
        .map((h) => h.host);
      const host = baselineHost(spr);
      expect(tableAdvertises(host.cpuid, "amx_tile")).toBe(false);
      for (const e of host.cpuid.filter((x) => x.function === 0x1d))
        expect([e.eax, e.ebx, e.ecx, e.edx]).toEqual([0, 0, 0, 0]);
    },
  );

  fixtureTest("hosts that have AMX but disagree on its palette are still refused, naming the field", () => {
    const spr = allFixtureHosts().find((h) => h.label === "sapphire-rapids-6.1")!.host;
    const other: HostCapture = {
      ...spr,
      cpuid: spr.cpuid.map((e) => (e.function === 0x1d && e.index === 1 ? { ...e, eax: e.eax ^ 0x10 } : e)),
    };
    expect(() => baselineHost([spr, other])).toThrow(/amx_palette_eax/);
  });
});

describe("guest_phys_addr_bits: 0 means the same as phys_addr_bits", () => {
  const eax = (pa: number, va: number, gpa: number) => (pa | (va << 8) | (gpa << 16)) >>> 0;
  const base = (a: number): HostCapture =>
    host(
      [
        { function: 0, index: 0, flags: 0, eax: 0xd, ebx: 0x68747541, ecx: 0x444d4163, edx: 0x69746e65 },
        { function: 0x80000000, index: 0, flags: 0, eax: 0x80000008, ebx: 0, ecx: 0, edx: 0 },
        { function: 0x80000008, index: 0, flags: 0, eax: a, ebx: 0, ecx: 0, edx: 0 },
      ],
      { vendor: "amd", vendorString: "AuthenticAMD", family: 0x19, model: 1, stepping: 1 },
    );
  const profileOf = (a: number) => generateProfile(base(a), { name: "p" }).profile;
  const names = (p: Profile, h: HostCapture) => checkCompatibility(p, h).problems.map((x) => x.name);

  test("compares effective values: a 48-bit guest on a host of 52-bit PA but 46-bit guest PA is refused; 0 on both sides is the PA", () => {
    expect(names(profileOf(eax(48, 48, 0)), base(eax(52, 57, 46)))).toEqual(["guest_phys_addr_bits"]);
    expect(names(profileOf(eax(48, 48, 0)), base(eax(52, 57, 48)))).toEqual([]);
    expect(names(profileOf(eax(46, 48, 0)), base(eax(48, 48, 0)))).toEqual([]);
    expect(names(profileOf(eax(48, 48, 46)), base(eax(46, 48, 0)))).toEqual(["phys_addr_bits"]);
    expect(names(profileOf(eax(52, 48, 0)), base(eax(48, 48, 0)))).toContain("guest_phys_addr_bits");
  });

  test("a baseline's effective guest address width is the least of the hosts' effective widths", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 36, max: 52 }), fc.integer({ min: 0, max: 52 })), {
          minLength: 1,
          maxLength: 5,
        }),
        (hs) => {
          const hosts = hs.map(([pa, gpa]) => base(eax(pa, 48, gpa)));
          const b = baselineHost(hosts);
          const r = findCpuid(b.cpuid, 0x80000008)!.eax;
          const eff = (v: number) => (v >>> 16) & 0xff || v & 0xff;
          expect(eff(r)).toBe(Math.min(...hosts.map((h) => eff(findCpuid(h.cpuid, 0x80000008)!.eax))));
          for (const h of hosts) expect(names(generateProfile(b, { name: "b" }).profile, h)).toEqual([]);
        },
      ),
      { numRuns: 100 },
    );
  });
});
