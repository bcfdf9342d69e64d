// One name per bit: the policy only uses the catalogue's names (src/catalogue), for exactly the bits the catalogue names.
import { describe, expect, test } from "bun:test";
import { cpuidFeatureAt, cpuidFieldAt, MSR_NAMES, msrFieldAt } from "../../src/catalogue/index.ts";
import { policyFor } from "../../src/policy/index.ts";

/**
 * Policy rows that still rule a whole register the catalogue names bit by bit (hidden leaves whose single bits
 * the reference table names): to be split into the catalogue's pieces. Listed so that no other row can drift.
 */
const COARSE_ROWS = new Set([
  "power_management", "power_management_hi", "sgx_leaf_edx", "intel_pt_leaf_eax", "intel_pt_leaf_ebx", "intel_pt_leaf_ecx",
  "keylocker_leaf_eax", "keylocker_leaf_ebx", "keylocker_leaf_ecx", "memory_encryption_eax",
]);

describe("policy and catalogue name every bit the same way", () => {
  for (const vendor of ["intel", "amd"] as const) {
    const policy = policyFor(vendor);
    test(`every ${vendor} CPUID field has the catalogue's name for exactly its bits`, () => {
      const wrong: string[] = [];
      for (const f of policy.cpuid) {
        if (COARSE_ROWS.has(f.name)) continue;
        const at = (bit: number) => [f.leaf, f.subleaves.start, f.register, bit] as const;
        const catalogued = f.lsb === f.msb ? cpuidFeatureAt(...at(f.lsb))?.linux ?? cpuidFieldAt(...at(f.lsb))?.name : undefined;
        const field = cpuidFieldAt(...at(f.lsb));
        const name = f.lsb === f.msb ? catalogued : field && field.lsb === f.lsb && field.msb === f.msb ? field.name : undefined;
        if (name !== f.name) wrong.push(`${f.name} at 0x${f.leaf.toString(16)}.${f.subleaves.start}.${f.register}[${f.msb}:${f.lsb}]: catalogue says ${name ?? "nothing"}`);
        // no catalogued feature bit inside a multi-bit field: a bit has one name
        if (f.lsb !== f.msb)
          for (let bit = f.lsb; bit <= f.msb; bit++) {
            const inner = cpuidFeatureAt(...at(bit));
            if (inner) wrong.push(`${f.name} covers ${inner.linux} (bit ${bit})`);
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
        .filter((r) => r.last === undefined && MSR_NAMES.has(r.index) && MSR_NAMES.get(r.index) !== r.name)
        .map((r) => `0x${r.index.toString(16)}: policy ${r.name}, catalogue ${MSR_NAMES.get(r.index)}`);
      expect(wrong).toEqual([]);
    });
  }
  test("the coarse rows still listed are real rows (the list shrinks as they are split)", () => {
    const names = new Set([...policyFor("intel").cpuid, ...policyFor("amd").cpuid].map((f) => f.name));
    expect([...COARSE_ROWS].filter((n) => !names.has(n))).toEqual([]);
  });
});
