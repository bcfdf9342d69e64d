import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { removalsOf, seededRandom, syntheticFleet } from "../../src/fleet/synthetic.ts";
import { serializeHost } from "../../src/model/host.ts";
import { FLEET, HAVE_FIXTURES } from "./hosts.ts";

describe("seededRandom", () => {
  test("property: values lie in [0, 1) and a seed always gives the same sequence", () => {
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        const a = seededRandom(seed),
          b = seededRandom(seed);
        for (let i = 0; i < 20; i++) {
          const x = a();
          expect(x).toBeGreaterThanOrEqual(0);
          expect(x).toBeLessThan(1);
          expect(b()).toBe(x);
        }
      }),
      { numRuns: 50 },
    );
  });
});

describe.skipIf(!HAVE_FIXTURES)("syntheticFleet", () => {
  test("the same seed gives byte-identical captures; another seed a different fleet", () => {
    const a = syntheticFleet(FLEET, { count: 20, seed: 1 });
    const b = syntheticFleet(FLEET, { count: 20, seed: 1 });
    const c = syntheticFleet(FLEET, { count: 20, seed: 2 });
    const bytes = (xs: typeof a) => xs.map((x) => x.label + serializeHost(x.host)).join("");
    expect(bytes(a)).toBe(bytes(b));
    expect(bytes(a)).not.toBe(bytes(c));
    expect(a.map((x) => x.label)).toContain(`${a[0]!.label.split("#")[0]}#0`);
  });

  test("rate 0 copies the bases; rate 1 applies every removal, after which nothing is left to remove", () => {
    for (const base of FLEET) {
      const [same] = syntheticFleet([base], { count: 1, seed: 3, removeRate: 0 });
      expect(serializeHost(same!.host)).toBe(serializeHost(base.host));
      expect(removalsOf(base.host).length).toBeGreaterThan(0);
      const [bare] = syntheticFleet([base], { count: 1, seed: 3, removeRate: 1 });
      expect(removalsOf(bare!.host)).toEqual([]);
    }
  });

  test("the bases are not modified", () => {
    const before = FLEET.map((x) => serializeHost(x.host)).join("");
    syntheticFleet(FLEET, { count: 50, seed: 9, removeRate: 0.5 });
    expect(FLEET.map((x) => serializeHost(x.host)).join("")).toBe(before);
  });
});
