// msrsToSave: the MSRs a VMM saves and restores under a profile. The filter and the save list must agree:
// a denied MSR in the save list would carry state the guest could never have set, or fail the restore.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { applyProfileWith } from "../../src/profile/apply.ts";
import { filterDecision } from "../../src/profile/filter.ts";
import { msrsToSave } from "../../src/profile/msrs-to-save.ts";
import { context, entry, host, profile } from "./apply-helpers.ts";

// Indices where real MSRs live (incl. x2APIC, Hyper-V, VMX capabilities, KVM PV, AMD), plus anything.
const msrIndex = fc.oneof(
  fc.integer({ min: 0, max: 0x500 }),
  fc.integer({ min: 0x7f0, max: 0x910 }),
  fc.integer({ min: 0x40000000, max: 0x40000100 }),
  fc.integer({ min: 0x4b564d00, max: 0x4b564d08 }),
  fc.integer({ min: 0xc0000080, max: 0xc0000110 }),
  fc.integer({ min: 0xc0010000, max: 0xc0010300 }),
  fc.integer({ min: 0, max: 0xfffffffe }),
);

const cases = fc.record({
  indexList: fc.uniqueArray(msrIndex, { maxLength: 40 }),
  featureMsrs: fc.uniqueArray(msrIndex, { maxLength: 6 }),
  keep: fc.array(fc.boolean(), { maxLength: 40 }),
  extra: fc.array(msrIndex, { maxLength: 8 }),
  kind: fc.constantFrom("profile" as const, "host" as const),
  hyperv: fc.boolean(),
  nested: fc.boolean(),
});

const sortedUnique = (xs: readonly number[]) => [...new Set(xs)].sort((a, b) => a - b);

describe("msrsToSave in applyProfile's result", () => {
  test("every MSR in it is allowed by the filter, every MSR the filter denies is absent, and it is index list ∩ permitted", () => {
    let checked = 0;
    fc.assert(
      fc.property(cases, (c) => {
        const h = host([entry(0, 0, { eax: 1 }), entry(1, 0)], {
          msrIndexList: c.indexList,
          featureMsrs: c.featureMsrs.map((index) => ({ index, value: 0n })),
        });
        const permitted = [...c.indexList.filter((_, i) => c.keep[i] ?? false), ...c.extra];
        const p = profile({ kind: c.kind, permittedMsrs: permitted });
        let config: ReturnType<typeof applyProfileWith>;
        try {
          config = applyProfileWith(context(), p, h, { hyperv: c.hyperv, nested: c.nested });
        } catch {
          return; // a filter needing more than 16 ranges is refused by apply (filter.test.ts covers it)
        }
        checked++;
        const save = config.msrsToSave;
        expect(save).toEqual(sortedUnique(save));
        for (const m of save) {
          expect(c.indexList).toContain(m);
          expect(filterDecision(config.msrFilter!, m, "read")).toBe("allow");
          expect(filterDecision(config.msrFilter!, m, "write")).toBe("allow");
        }
        const saved = new Set(save);
        for (const m of [...c.indexList, ...c.featureMsrs, ...c.extra])
          if (
            filterDecision(config.msrFilter!, m, "read") === "deny" ||
            filterDecision(config.msrFilter!, m, "write") === "deny"
          )
            expect(saved.has(m)).toBe(false);
        if (c.kind === "host") expect(save).toEqual(sortedUnique(c.indexList));
        else for (const m of c.indexList) if (!permitted.includes(m)) expect(saved.has(m)).toBe(false);
      }),
      { numRuns: 300 },
    );
    expect(checked).toBeGreaterThan(100);
  });

  test("the same inputs give the same list, whatever the order of the index list and permitted set", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(msrIndex, { maxLength: 30 }),
        fc.array(msrIndex, { maxLength: 30 }),
        (list, permitted) => {
          const a = msrsToSave(list, permitted);
          expect(msrsToSave([...list].reverse(), [...permitted].reverse())).toEqual(a);
          expect(a).toEqual(sortedUnique(list.filter((m) => permitted.includes(m))));
        },
      ),
    );
  });

  test("a permitted MSR that is not in the index list is not saved; Hyper-V MSRs only with hyperv", () => {
    const h = host([entry(0, 0, { eax: 1 })], { msrIndexList: [0x10, 0x40000000, 0xc0000081] });
    const p = profile({ permittedMsrs: [0x10, 0x3b, 0x40000000, 0xc0000081] });
    expect(applyProfileWith(context(), p, h).msrsToSave).toEqual([0x10, 0xc0000081]);
    expect(applyProfileWith(context(), p, h, { hyperv: true }).msrsToSave).toEqual([0x10, 0x40000000, 0xc0000081]);
  });
});
