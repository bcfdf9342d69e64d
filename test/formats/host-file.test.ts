import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { loadHostFile } from "../../src/formats/host-file.ts";
import { InputError } from "../../src/errors.ts";
import { CPUID_FLAG_SIGNIFICANT_INDEX, findCpuid } from "../../src/model/cpuid.ts";
import { parseHostCapture, serializeHost } from "../../src/model/host.ts";
import { fixtureText, HAVE_FIXTURES } from "./fixtures.ts";

const HOSTS = [
  ["INTEL_SKYLAKE", "intel", 6, 85],
  ["INTEL_CASCADELAKE", "intel", 6, 85],
  ["INTEL_ICELAKE", "intel", 6, 106],
  ["INTEL_SAPPHIRE_RAPIDS", "intel", 6, 143],
  ["INTEL_GRANITE_RAPIDS", "intel", 6, 173],
  ["AMD_MILAN", "amd", 25, 1],
  ["AMD_GENOA", "amd", 25, 17],
] as const;

const fileOf = (name: string) => `hosts/firecracker/fingerprint_${name}_6.1host.json`;

const bits = (n: number | bigint, width: number) => `0b${BigInt(n).toString(2).padStart(width, "0")}`;

/** A minimal template dump: leaf 0 (GenuineIntel, max 7), leaf 1, leaf 7.0, and the given MSRs. */
function dump(
  extra: { leaf: string; subleaf: string; flags: number; eax: number }[] = [],
  msrs: [string, bigint][] = [],
) {
  const entry = (leaf: string, subleaf: string, flags: number, r: [number, number, number, number]) => ({
    leaf,
    subleaf,
    flags,
    modifiers: (["eax", "ebx", "ecx", "edx"] as const).map((register, i) => ({ register, bitmap: bits(r[i]!, 32) })),
  });
  return {
    kvm_capabilities: [],
    cpuid_modifiers: [
      entry("0x0", "0x0", 0, [7, 0x756e6547, 0x6c65746e, 0x49656e69]),
      entry("0x1", "0x0", 0, [0x50654, 0, 0, 0]),
      ...extra.map((e) => entry(e.leaf, e.subleaf, e.flags, [e.eax, 0, 0, 0])),
    ],
    msr_modifiers: msrs.map(([addr, value]) => ({ addr, bitmap: bits(value, 64) })),
  };
}

describe.skipIf(!HAVE_FIXTURES)("Firecracker fingerprints", () => {
  for (const [name, vendor, family, model] of HOSTS) {
    test(`${name} imports as ${vendor} ${family}/${model} and round-trips`, () => {
      const host = loadHostFile(fixtureText(fileOf(name)), fileOf(name));
      expect(host.source).toBe("firecracker-fingerprint");
      expect([host.vendor, host.family, host.model]).toEqual([vendor, family, model]);
      expect(host.kvm).toBeNull();
      expect(host.kernel).toMatch(/^6\.1\./);
      expect(host.microcode).toMatch(/^0x[1-9a-f][0-9a-f]*$/);
      expect(host.brand).toMatch(vendor === "intel" ? /Intel/ : /AMD/);
      // leaf 7 is indexed: its entry must only match subleaf 0
      expect(findCpuid(host.cpuid, 7, 0)!.flags & CPUID_FLAG_SIGNIFICANT_INDEX).toBe(CPUID_FLAG_SIGNIFICANT_INDEX);
      expect(findCpuid(host.cpuid, 0x80000001)!.flags).toBe(0);
      // 0x11 kvmclock is saved state, not a feature MSR; 0x8b is both
      expect(host.msrIndexList).toContain(0x11);
      expect(host.featureMsrs.map((m) => m.index)).toContain(0x8b);
      expect(host.featureMsrs.map((m) => m.index)).not.toContain(0x11);
      const once = serializeHost(host);
      expect(serializeHost(parseHostCapture(JSON.parse(once), "again.json"))).toBe(once);
      expect(serializeHost(loadHostFile(once, "own.json"))).toBe(once);
    });
  }

  test("Skylake's ARCH_CAPABILITIES and microcode come through exactly", () => {
    const host = loadHostFile(fixtureText(fileOf("INTEL_SKYLAKE")), "s.json");
    expect(host.microcode).toBe("0x2007006");
    expect(host.featureMsrs.find((m) => m.index === 0x10a)?.value).toBe(0x400000000c00004cn);
  });

  test("a template dump of a fingerprint's config gives the same CPUID and MSRs", () => {
    const fp = JSON.parse(fixtureText(fileOf("AMD_GENOA")));
    const fromFp = loadHostFile(JSON.stringify(fp), "fp.json");
    const fromDump = loadHostFile(JSON.stringify(fp.guest_cpu_config), "dump.json");
    expect(fromDump.source).toBe("firecracker-dump");
    expect(fromDump.kernel).toBeNull();
    expect(fromDump.microcode).toBeNull();
    expect(fromDump.cpuid).toEqual(fromFp.cpuid);
    expect(fromDump.featureMsrs).toEqual(fromFp.featureMsrs);
    expect(fromDump.msrIndexList).toEqual(fromFp.msrIndexList);
  });
});

describe("host file errors", () => {
  const message = (text: string, file = "h.json") => {
    try {
      loadHostFile(text, file);
    } catch (e) {
      expect(e).toBeInstanceOf(InputError);
      return (e as Error).message;
    }
    throw new Error("expected an InputError");
  };

  test("an unknown document names the accepted formats", () => {
    const m = message(JSON.stringify({ hello: 1 }));
    expect(m).toStartWith("h.json: not a host capture");
    expect(m).toContain("cpuprof-host");
    expect(m).toContain("fingerprint");
    expect(m).toContain("dump");
    expect(m).not.toContain("\n");
  });

  test("invalid JSON names the file", () => {
    expect(message("{", "x.json")).toStartWith("x.json: not valid JSON");
  });

  test("a short bitmap names its JSON path", () => {
    const d = dump();
    d.cpuid_modifiers[1]!.modifiers[2]!.bitmap = "0b101";
    expect(message(JSON.stringify(d))).toBe(
      'h.json: $.cpuid_modifiers[1].modifiers[2].bitmap: expected "0b" followed by exactly 32 characters 0 or 1, got "0b101"',
    );
  });

  test("a template bitmap with x is not a dump: it is a template, read with import firecracker", () => {
    const d = dump();
    d.cpuid_modifiers[1]!.modifiers[0]!.bitmap = `0b${"x".repeat(32)}`;
    expect(message(JSON.stringify(d))).toContain(
      "not a host capture but a Firecracker custom CPU template: read it as a profile with 'cpuprof import firecracker",
    );
  });

  test("a 32-bit MSR bitmap is refused", () => {
    const d = dump([], [["0x10a", 1n]]);
    d.msr_modifiers[0]!.bitmap = bits(1, 32);
    expect(message(JSON.stringify(d))).toContain('$.msr_modifiers[0].bitmap: expected "0b" followed by exactly 64');
  });

  test("duplicate leaves and MSRs are refused", () => {
    expect(message(JSON.stringify(dump([{ leaf: "0x1", subleaf: "0x0", flags: 0, eax: 1 }])))).toBe(
      "h.json: $.cpuid_modifiers[2]: duplicate leaf 0x1 subleaf 0x0",
    );
    expect(
      message(
        JSON.stringify(
          dump(
            [],
            [
              ["0x10a", 1n],
              ["0x10A", 2n],
            ],
          ),
        ),
      ),
    ).toBe("h.json: $.msr_modifiers[1]: duplicate MSR 0x10a");
  });

  test("a foreign vendor is refused", () => {
    const d = dump();
    d.cpuid_modifiers[0]!.modifiers[1]!.bitmap = bits(0x41414141, 32);
    expect(message(JSON.stringify(d))).toContain(
      "$.cpuid_modifiers: expected leaf 0x0 with a GenuineIntel or AuthenticAMD vendor string",
    );
  });
});

describe("dump import properties", () => {
  test("every register value and MSR value survives import exactly", () => {
    const u32 = fc.integer({ min: 0, max: 0xffffffff });
    fc.assert(
      fc.property(
        fc.uniqueArray(
          fc.record({ leaf: fc.integer({ min: 2, max: 0x30 }), subleaf: fc.integer({ min: 0, max: 3 }), eax: u32 }),
          {
            selector: (e) => `${e.leaf}/${e.subleaf}`,
            maxLength: 20,
          },
        ),
        fc.uniqueArray(
          fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })),
          {
            selector: (m) => m[0],
            maxLength: 10,
          },
        ),
        (leaves, msrs) => {
          const text = JSON.stringify(
            dump(
              leaves.map((l) => ({
                leaf: `0x${l.leaf.toString(16)}`,
                subleaf: String(l.subleaf),
                flags: 0,
                eax: l.eax,
              })),
              msrs.map(([i, val]) => [`0x${i.toString(16)}`, val]),
            ),
          );
          const host = loadHostFile(text, "p.json");
          for (const l of leaves) {
            const e = host.cpuid.find((c) => c.function === l.leaf && c.index === l.subleaf)!;
            expect(e.eax).toBe(l.eax);
          }
          expect(host.msrIndexList).toEqual(msrs.map((m) => m[0]).sort((a, b) => a - b));
          for (const m of host.featureMsrs) expect(msrs.find((x) => x[0] === m.index)?.[1]).toBe(m.value);
          expect(serializeHost(loadHostFile(serializeHost(host), "o.json"))).toBe(serializeHost(host));
        },
      ),
      { numRuns: 100 },
    );
  });
});
