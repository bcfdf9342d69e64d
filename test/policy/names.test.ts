// One name per bit: the policy only uses the catalogue's names (src/catalogue), for exactly the bits the catalogue names.
import { describe, expect, test } from "bun:test";
import {
  allCpuidFeatures,
  cpuidBitsName,
  cpuidFeatureAt,
  cpuidFieldAt,
  allMsrNames,
  msrFieldAt,
} from "../../src/catalogue/index.ts";
import { policyFor } from "../../src/policy/index.ts";

describe("policy and catalogue name every bit the same way", () => {
  test("every catalogue name points at one CPUID bit, except AMD's 0x80000001 EDX copies of leaf-1 bits", () => {
    const byName = new Map<string, string[]>();
    for (const f of allCpuidFeatures().filter((x) => !x.aliasOfLeaf1Edx))
      byName.set(f.linux, [
        ...(byName.get(f.linux) ?? []),
        `0x${f.leaf.toString(16)}.${f.subleaf ?? "-"}.${f.register}[${f.bit}]`,
      ]);
    expect([...byName].filter(([, at]) => at.length > 1)).toEqual([]);
  });

  for (const vendor of ["intel", "amd"] as const) {
    const policy = policyFor(vendor);
    test(`every ${vendor} CPUID field has the catalogue's name for exactly its bits`, () => {
      const wrong: string[] = [];
      for (const f of policy.cpuid) {
        const at = (bit: number) => [f.leaf, f.subleaves.start, f.register, bit] as const;
        // the catalogue's name for exactly these bits, or their location where it names none
        const name = cpuidBitsName(f.leaf, f.subleaves.start, f.register, f.lsb, f.msb);
        if (name !== f.name)
          wrong.push(
            `${f.name} at 0x${f.leaf.toString(16)}.${f.subleaves.start}.${f.register}[${f.msb}:${f.lsb}]: catalogue says ${name}`,
          );
        // a bit has one name: no catalogued feature or differently bounded field inside a multi-bit field
        if (f.lsb !== f.msb)
          for (let bit = f.lsb; bit <= f.msb; bit++) {
            const inner = cpuidFeatureAt(...at(bit))?.linux ?? cpuidFieldAt(...at(bit))?.name;
            if (inner !== undefined && inner !== f.name) wrong.push(`${f.name} covers ${inner} (bit ${bit})`);
          }
      }
      expect(wrong).toEqual([]);
    });
    test(`every ${vendor} feature-MSR field has the catalogue's name for exactly its bits`, () => {
      const wrong = policy.msrFields
        .filter((f) => {
          const c = msrFieldAt(f.index, f.lsb);
          return !c || c.name !== f.name || c.lsb !== f.lsb || c.msb !== f.msb;
        })
        .map((f) => `${f.name} at 0x${f.index.toString(16)}[${f.msb}:${f.lsb}]`);
      expect(wrong).toEqual([]);
    });
    test(`every ${vendor} rule for a single MSR uses the catalogue's MSR name`, () => {
      const wrong = policy.msrs
        .filter((r) => r.last === undefined && allMsrNames().has(r.index) && allMsrNames().get(r.index) !== r.name)
        .map((r) => `0x${r.index.toString(16)}: policy ${r.name}, catalogue ${allMsrNames().get(r.index)}`);
      expect(wrong).toEqual([]);
    });
  }
});
