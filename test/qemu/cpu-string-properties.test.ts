// Properties of the pure exporters over random profiles: take any QEMU model (or libvirt model),
// flip any set of its features, make a profile of exactly that, and export it. The chosen model
// plus the flags must give back every wanted feature, with no more flags than features flipped;
// parseQemuCpu reads the value back; libvirt's <cpu> imports back to the same feature bits.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { profileFromFixedBits } from "../../src/formats/feature-profile.ts";
import { LIBVIRT_CPU_MAP } from "../../src/libvirt/cpu-map.ts";
import { formatLibvirtCpu, profileToLibvirtCpu } from "../../src/libvirt/cpu-xml.ts";
import { profileFromLibvirtXml } from "../../src/libvirt/import.ts";
import { parseQemuCpu, profileToQemuCpu } from "../../src/qemu/cpu-string.ts";
import { profileBitState } from "../../src/qemu/feature-state.ts";
import { qemuNamedFeatures } from "../../src/qemu/model-features.ts";
import { QEMU_MODEL_TABLES, type QemuModel } from "../../src/qemu/models.ts";

const VENDOR = { GenuineIntel: "intel", AuthenticAMD: "amd" } as const;

for (const table of QEMU_MODEL_TABLES) {
  const models = table.models.filter((m) => m.vendor in VENDOR);
  const props = new Set(table.properties);
  const named = qemuNamedFeatures().filter((f) => props.has(f.linux));
  const qemuProps = [...new Set(named.map((f) => f.qemu!))];

  /** A model's features as QEMU expands it under -accel kvm. */
  function kvmFeatures(m: QemuModel): Set<string> {
    const s = new Set(m.features);
    for (const f of table.kvmDefaults.on) s.add(f);
    for (const f of table.kvmDefaults.off) s.delete(f);
    return s;
  }

  describe(`profileToQemuCpu over random profiles, QEMU ${table.version}`, () => {
    test("model + flags == the profile on every expressible feature; flags <= features flipped", () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: models.length - 1 }),
          fc.uniqueArray(fc.constantFrom(...qemuProps), { maxLength: 12 }),
          (mi, flips) => {
            const base = models[mi]!;
            const wanted = kvmFeatures(base);
            for (const p of flips)
              for (const f of named.filter((x) => x.qemu === p))
                wanted.has(f.linux) ? wanted.delete(f.linux) : wanted.add(f.linux);
            const profile = profileFromFixedBits(
              VENDOR[base.vendor as keyof typeof VENDOR],
              named.map((f) => ({ bit: f.bit, on: wanted.has(f.linux) })),
              { name: "random", description: "", where: "test" },
            );
            const out = profileToQemuCpu(profile, table);
            const chosen = table.models.find((m) => m.name === out.model)!;
            const result = kvmFeatures(chosen);
            const { model, props: flags } = parseQemuCpu(out.cpu);
            expect(model).toBe(out.model);
            for (const f of named)
              if (f.qemu! in flags && typeof flags[f.qemu!] === "boolean")
                flags[f.qemu!] ? result.add(f.linux) : result.delete(f.linux);
            const inexpressible = new Set(out.inexpressible.map((i) => i.feature));
            for (const f of named)
              if (!inexpressible.has(f.linux))
                expect([f.linux, result.has(f.linux)]).toEqual([f.linux, wanted.has(f.linux)]);
            expect(out.flags.length).toBeLessThanOrEqual(flips.length);
          },
        ),
        { numRuns: 60 },
      );
    }, 30_000);
  });
}

describe("profileToLibvirtCpu over random profiles", () => {
  const lvModels = LIBVIRT_CPU_MAP.models.filter((m) => m.vendor === "Intel" || m.vendor === "AMD");
  const key = (b: (typeof LIBVIRT_CPU_MAP.features)[number]["bit"]) => JSON.stringify(b);
  const counts = new Map<string, number>();
  for (const f of LIBVIRT_CPU_MAP.features) counts.set(key(f.bit), (counts.get(key(f.bit)) ?? 0) + 1);
  const unique = LIBVIRT_CPU_MAP.features.filter((f) => counts.get(key(f.bit)) === 1);

  test("model + require/disable == the profile; features <= flips; import(export) fixes the same bits", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: lvModels.length - 1 }),
        fc.uniqueArray(fc.constantFrom(...unique.map((f) => f.name)), { maxLength: 12 }),
        (mi, flips) => {
          const base = lvModels[mi]!;
          const wanted = new Set(base.features);
          for (const n of flips) wanted.has(n) ? wanted.delete(n) : wanted.add(n);
          const profile = profileFromFixedBits(
            base.vendor === "Intel" ? "intel" : "amd",
            unique.map((f) => ({ bit: f.bit, on: wanted.has(f.name) })),
            { name: "random", description: "", where: "test" },
          );
          const cpu = profileToLibvirtCpu(profile, LIBVIRT_CPU_MAP);
          const chosen = LIBVIRT_CPU_MAP.models.find((m) => m.name === cpu.model)!;
          const result = new Set(chosen.features);
          for (const f of cpu.features) f.policy === "require" ? result.add(f.name) : result.delete(f.name);
          // What the profile holds: a feature MSR the vendor's policy does not adjust stays 0 (split-lock-detect, ...).
          const holds = (f: (typeof unique)[number]) => profileBitState(profile, f.bit) === 1;
          const lost = unique.filter((f) => holds(f) !== wanted.has(f.name)).length;
          for (const f of unique) expect([f.name, result.has(f.name)]).toEqual([f.name, holds(f)]);
          expect(cpu.features.length).toBeLessThanOrEqual(flips.length + lost);
          const back = profileFromLibvirtXml(formatLibvirtCpu(cpu), "x.xml", LIBVIRT_CPU_MAP);
          for (const f of unique) expect([f.name, profileBitState(back, f.bit)]).toEqual([f.name, holds(f) ? 1 : 0]);
        },
      ),
      { numRuns: 60 },
    );
  });
});
