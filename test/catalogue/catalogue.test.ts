import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  allCpuidFeatures,
  allCpuidFields,
  allMsrBitFields,
  cpuidBitName,
  cpuidBitQemuName,
  cpuidFieldAt,
  findCpuidFeature,
  msrBitName,
  msrBitQemuName,
  msrFieldAt,
  msrName,
  namedCpuidBits,
} from "../../src/catalogue/index.ts";
import { REGISTERS } from "../../src/model/cpuid.ts";
import { parseTsv, renderTable, withExtras } from "../../scripts/gen-catalogue.ts";

describe("CPUID bit names", () => {
  test("known bits in Linux and QEMU spelling", () => {
    expect(cpuidBitName(0x7, 0, "ebx", 16)).toBe("avx512f");
    expect(cpuidBitQemuName(0x7, 0, "ebx", 16)).toBe("avx512f");
    expect(cpuidBitName(0x7, 0, "edx", 23)).toBe("avx512_fp16");
    expect(cpuidBitQemuName(0x7, 0, "edx", 23)).toBe("avx512-fp16");
    expect(cpuidBitName(0x80000001, 0, "ecx", 6)).toBe("sse4a");
    expect(cpuidBitName(0x1, 0, "ecx", 19)).toBe("sse4_1");
    expect(cpuidBitQemuName(0x1, 0, "ecx", 19)).toBe("sse4.1");
  });

  test("markers are stripped from names", () => {
    expect(cpuidBitName(0x1, 0, "ecx", 27)).toBe("osxsave");
    expect(cpuidBitName(0x19, 0, "eax", 1)).toBe("kl_no_encrypt_restrict");
    for (const f of allCpuidFeatures()) expect(f.linux).toMatch(/^[a-z0-9_.]+$/);
  });

  test("a non-indexed leaf names its bits whatever the subleaf", () => {
    expect(cpuidBitName(0x1, 5, "edx", 0)).toBe("fpu");
  });

  test("an indexed leaf's subleaf matters", () => {
    expect(cpuidBitName(0x7, 1, "ebx", 16)).toBe("0x7.1.ebx[16]");
    expect(cpuidBitName(0x7, 1, "eax", 4)).toBe("avx_vnni");
  });

  test("unnamed bits fall back to their location", () => {
    expect(cpuidBitName(0x7, 0, "eax", 16)).toBe("0x7.0.eax[16]");
    expect(cpuidBitName(0x80000021, 3, "edx", 31)).toBe("0x80000021.3.edx[31]");
    expect(cpuidBitQemuName(0x7, 0, "eax", 16)).toBeUndefined();
  });

  test("0x80000001 EDX copies of 1.EDX are marked as aliases", () => {
    const fpu = findCpuidFeature("fpu");
    expect(fpu.map((f) => [f.leaf, !!f.aliasOfLeaf1Edx])).toEqual([
      [0x1, false],
      [0x80000001, true],
    ]);
    expect(
      allCpuidFeatures()
        .filter((f) => f.aliasOfLeaf1Edx)
        .every((f) => f.leaf === 0x80000001 && f.register === "edx"),
    ).toBeTrue();
  });

  test("lookup by Linux or QEMU name", () => {
    expect(findCpuidFeature("avx512-fp16").map((f) => [f.leaf, f.subleaf, f.register, f.bit])).toEqual([
      [0x7, 0, "edx", 23],
    ]);
    expect(findCpuidFeature("pni")[0]?.bit).toBe(0);
    expect(findCpuidFeature("AVX512F")).toHaveLength(1);
    expect(findCpuidFeature("no-such-feature")).toEqual([]);
  });

  test("every named bit is found by its own names", () => {
    for (const f of allCpuidFeatures()) {
      expect(findCpuidFeature(f.linux)).toContain(f);
      if (f.qemu) expect(findCpuidFeature(f.qemu)).toContain(f);
    }
  });

  test("no two entries share a location", () => {
    const keys = allCpuidFeatures().map((f) => `${f.leaf}.${f.subleaf}.${f.register}.${f.bit}`);
    expect(new Set(keys).size).toBe(keys.length);
    const fieldKeys = allMsrBitFields().map((f) => `${f.index}.${f.lsb}`);
    expect(new Set(fieldKeys).size).toBe(fieldKeys.length);
  });

  test("namedCpuidBits lists a register's bits in order", () => {
    const bits = namedCpuidBits(0x7, 0, "ebx").map((f) => f.bit);
    expect(bits.length).toBeGreaterThan(20);
    expect(bits).toEqual([...bits].sort((a, b) => a - b));
  });

  test("cpuidBitName always gives a non-empty name that findCpuidFeature or the location form explains", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(0x0, 0x1, 0x7, 0xd, 0x14, 0x19, 0x40000001, 0x80000001, 0x80000008, 0x80000021, 0xdeadbeef),
        fc.integer({ min: 0, max: 3 }),
        fc.constantFrom(...REGISTERS),
        fc.integer({ min: 0, max: 31 }),
        (leaf, sub, reg, bit) => {
          const name = cpuidBitName(leaf, sub, reg, bit);
          if (name.startsWith("0x")) expect(name).toBe(`0x${leaf.toString(16)}.${sub}.${reg}[${bit}]`);
          else
            expect(
              findCpuidFeature(name).some((f) => f.leaf === leaf && f.register === reg && f.bit === bit),
            ).toBeTrue();
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("CPUID fields", () => {
  test("multi-bit fields are named", () => {
    expect(cpuidFieldAt(0x0, 0, "eax", 3)?.name).toBe("max_basic_leaf");
    expect(cpuidFieldAt(0x1, 0, "eax", 9)?.name).toBe("family");
    expect(cpuidFieldAt(0x1, 0, "eax", 5)?.name).toBe("model");
    expect(cpuidFieldAt(0x80000008, 0, "eax", 7)?.name).toBe("phys_addr_bits");
    expect(cpuidFieldAt(0x7, 1, "eax", 0)).toBeUndefined();
  });

  test("fields of one register do not overlap", () => {
    for (const a of allCpuidFields())
      for (const b of allCpuidFields())
        if (a !== b && a.leaf === b.leaf && a.subleaf === b.subleaf && a.register === b.register)
          expect(a.msb < b.lsb || b.msb < a.lsb).toBeTrue();
  });
});

describe("MSR names", () => {
  test("common MSRs by name, others in hex", () => {
    expect(msrName(0x8b)).toBe("ucode_rev");
    expect(msrName(0x10a)).toBe("arch_capabilities");
    expect(msrName(0x345)).toBe("perf_capabilities");
    expect(msrName(0xce)).toBe("platform_info");
    expect(msrName(0xc0011029)).toBe("de_cfg");
    expect(msrName(0x480)).toBe("vmx_basic");
    expect(msrName(0x491)).toBe("vmx_vmfunc");
    expect(msrName(0x4b564d00)).toBe("kvm_wall_clock_new");
    expect(msrName(0x40000093)).toBe("hv_sint3");
    expect(msrName(0xc0000080)).toBe("efer");
    expect(msrName(0x405)).toBe("mc1_status");
    expect(msrName(0x12345)).toBe("0x12345");
  });

  test("feature MSR bits", () => {
    expect(msrBitName(0x10a, 19)).toBe("rrsba");
    expect(msrBitName(0x10a, 0)).toBe("rdcl_no");
    expect(msrBitQemuName(0x10a, 0)).toBe("rdctl-no");
    expect(msrBitName(0x10a, 16)).toBe("arch_cap_bit_16"); // reserved, named for the policy rule that hides it
    expect(msrBitName(0x345, 20)).toBe("0x345[20]");
    expect(msrBitName(0x345, 13)).toBe("fw_write");
    expect(msrBitQemuName(0x345, 13)).toBe("full-width-write");
    expect(msrFieldAt(0x345, 9)?.name).toBe("pebs_format");
    expect(msrBitName(0x345, 9)).toBe("0x345[9]");
    expect(msrBitName(0xce, 31)).toBe("cpuid_faulting");
  });
});

const TSV = join(import.meta.dir, "../../../shared/reference/cpuid-bits.tsv");
describe.skipIf(!existsSync(TSV))("generated table", () => {
  test("src/catalogue/cpuid-features.ts is what scripts/gen-catalogue.ts makes of the reference table", () => {
    const committed = readFileSync(join(import.meta.dir, "../../src/catalogue/cpuid-features.ts"), "utf8");
    expect(renderTable(withExtras(parseTsv(readFileSync(TSV, "utf8"))))).toBe(committed);
  });
});
if (!existsSync(TSV)) console.log(`skip: generated-table check, ${TSV} is absent`);
