// export libvirt / kubevirt against the real libvirt: every embedded profile's <cpu> element
// validates with virt-xml-validate, names only models and features of the installed CPU map,
// and that map's model plus the require/disable features equals the profile on every feature
// the profile fixes. Expectations come from whatever profiles are embedded.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { embeddedProfile, embeddedProfileNames } from "../../src/embedded/profiles.ts";
import { LIBVIRT_CPU_MAP } from "../../src/libvirt/cpu-map.ts";
import { parseLibvirtCpuMap } from "../../src/libvirt/cpu-map-parse.ts";
import { formatKubevirtCpu, formatLibvirtCpu, profileToLibvirtCpu } from "../../src/libvirt/cpu-xml.ts";
import { profileBitState } from "../../src/qemu/feature-state.ts";
import { cpuprof as runCli } from "../cli/run.ts";

const MAP_DIR = "/usr/share/libvirt/cpu_map";
const validator = Bun.which("virt-xml-validate");
const skip = !validator
  ? "virt-xml-validate is not installed (libvirt-clients, libxml2-utils)"
  : !existsSync(MAP_DIR)
    ? `no ${MAP_DIR}`
    : undefined;
if (skip) console.log(`export-libvirt: skipped, ${skip}`);

/** The <cpu> element read back: model, vendor, features by policy. */
function readCpuXml(xml: string): { model: string; vendor: string; features: Map<string, string> } {
  const model = /<model fallback='forbid'>([^<]+)<\/model>/.exec(xml)?.[1] ?? "";
  const vendor = /<vendor>([^<]+)<\/vendor>/.exec(xml)?.[1] ?? "";
  const features = new Map(
    [...xml.matchAll(/<feature policy='([a-z]+)' name='([^']+)'\/>/g)].map((m) => [m[2]!, m[1]!]),
  );
  return { model, vendor, features };
}

(skip ? describe.skip : describe)("export libvirt against the installed libvirt", () => {
  const installed = skip
    ? { features: [], models: [] }
    : parseLibvirtCpuMap((f) => readFileSync(join(MAP_DIR, f), "utf8"));

  test("the embedded CPU map is the installed one", () => {
    expect({ features: LIBVIRT_CPU_MAP.features, models: LIBVIRT_CPU_MAP.models }).toEqual(installed);
  });

  for (const name of embeddedProfileNames()) {
    test(name, () => {
      const profile = embeddedProfile(name)!;
      const r = runCli(["export", "libvirt", name]);
      expect(r.code).toBe(0);
      const xml = r.stdout;
      expect(xml).toBe(formatLibvirtCpu(profileToLibvirtCpu(profile, LIBVIRT_CPU_MAP)));
      const dir = mkdtempSync(join(tmpdir(), "cpuprof-libvirt-"));
      try {
        writeFileSync(join(dir, "cpu.xml"), xml);
        const v = Bun.spawnSync([validator!, join(dir, "cpu.xml"), "cpu"], { stderr: "pipe", stdout: "pipe" });
        expect({ exit: v.exitCode, out: v.stderr.toString().trim() }).toEqual({
          exit: 0,
          out: expect.stringContaining("validates"),
        });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      if (profile.kind === "host") {
        expect(xml).toContain("host-passthrough");
        return;
      }
      const cpu = readCpuXml(xml);
      const model = installed.models.find((m) => m.name === cpu.model);
      expect(model?.name).toBe(cpu.model);
      expect(cpu.vendor).toBe(model!.vendor!);
      const known = new Set(installed.features.map((f) => f.name));
      expect([...cpu.features.keys()].filter((f) => !known.has(f))).toEqual([]);
      // model + features == profile, for every feature the profile fixes
      const modelHas = new Set(model!.features);
      const wrong: string[] = [];
      for (const f of installed.features) {
        const state = profileBitState(profile, f.bit);
        if (state === "host") continue;
        const policy = cpu.features.get(f.name);
        const libvirtOn = policy === "require" ? true : policy === "disable" ? false : modelHas.has(f.name);
        if (libvirtOn !== (state === 1)) wrong.push(`${f.name}: profile ${state}, libvirt ${libvirtOn ? 1 : 0}`);
      }
      expect(wrong).toEqual([]);
      // every inexpressible feature is on stderr with its reason
      const lines = r.stderr.trim().split("\n").filter(Boolean);
      for (const l of lines)
        expect(l).toMatch(/^export libvirt: (warning: cannot express \S+: .{10,}|note: invtsc: .{10,})/);
      const cpu2 = profileToLibvirtCpu(profile, LIBVIRT_CPU_MAP);
      expect(lines.filter((l) => l.includes(": note: ")).length).toBe(cpu2.notes.length);
      expect(cpu2.notes.length > 0).toBe(
        profileBitState(profile, installed.features.find((f) => f.name === "invtsc")!.bit) === 1,
      );
    }, 30_000);
  }

  test("kubevirt: the same model and features, as YAML Bun parses", () => {
    for (const name of embeddedProfileNames()) {
      const profile = embeddedProfile(name)!;
      const r = runCli(["export", "kubevirt", name]);
      expect(r.code).toBe(0);
      const doc = Bun.YAML.parse(r.stdout) as { cpu: { model: string; features?: { name: string; policy: string }[] } };
      const cpu = profileToLibvirtCpu(profile, LIBVIRT_CPU_MAP);
      expect(doc.cpu.model).toBe(cpu.model ?? "host-passthrough");
      expect(doc.cpu.features ?? []).toEqual(cpu.features);
      expect(r.stdout).toBe(formatKubevirtCpu(cpu, r.stdout.split("\n")[0]!.slice(2)));
    }
  }, 60_000);

  test("--strict turns inexpressible features into exit 1 with nothing on stdout", () => {
    const r = runCli(["export", "libvirt", "skylake", "--strict"]);
    const expected = profileToLibvirtCpu(embeddedProfile("skylake")!, LIBVIRT_CPU_MAP).inexpressible.length > 0 ? 1 : 0;
    expect(r.code).toBe(expected);
    if (expected) expect(r.stdout).toBe("");
  }, 30_000);
});
