// The saved-MSRs document: what saveMsrs gives, as a snapshot or migration stream carries it.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { InputError } from "../../src/errors.ts";
import { parseSavedMsrs, serializeSavedMsrs } from "../../src/vmm/saved.ts";
import { thrown } from "../helpers/thrown.ts";

const savedSets = fc
  .record({
    vcpuId: fc.integer({ min: 0, max: 4095 }),
    msrs: fc.uniqueArray(
      fc.record({
        index: fc.integer({ min: 0, max: 0xffffffff }),
        value: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      }),
      { selector: (m) => m.index, maxLength: 50 },
    ),
  })
  .map((s) => ({ ...s, msrs: [...s.msrs].sort((a, b) => a.index - b.index) }));

describe("saved MSRs document", () => {
  test("parse ∘ serialize is the identity, and serialize is deterministic", () => {
    fc.assert(
      fc.property(savedSets, (s) => {
        const text = serializeSavedMsrs(s);
        expect(parseSavedMsrs(text, "saved.json")).toEqual(s);
        expect(serializeSavedMsrs(parseSavedMsrs(text, "saved.json"))).toBe(text);
      }),
    );
  });

  test("bad documents are one-line input errors naming the file and path", () => {
    const doc = (msrs: unknown) => JSON.stringify({ format: "cpuprof-saved-msrs", formatVersion: 1, vcpuId: 0, msrs });
    const dup = thrown(() =>
      parseSavedMsrs(
        doc([
          { index: "0x10", value: "0x1" },
          { index: "0x10", value: "0x2" },
        ]),
        "s.json",
      ),
    );
    expect(dup).toBeInstanceOf(InputError);
    expect(dup.message).toBe("s.json: $.msrs[1]: duplicate MSR 0x10");
    const big = thrown(() => parseSavedMsrs(doc([{ index: "0x10", value: "0x10000000000000000" }]), "s.json"));
    expect(big.message).toStartWith("s.json: $.msrs[0].value: expected");
    expect(thrown(() => parseSavedMsrs("{", "s.json")).message).toStartWith("s.json: not valid JSON");
    expect(thrown(() => parseSavedMsrs(JSON.stringify({ format: "cpuprof-host" }), "s.json")).message).toStartWith(
      "s.json: $.format",
    );
  });
});
