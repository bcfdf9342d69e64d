// import libvirt: a <cpu> element or `virsh domcapabilities` host-model becomes a profile that
// fixes every feature of libvirt's CPU map as model + policies say; exporting it again gives the
// same <cpu> features, and the embedded profiles survive export -> import -> export.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { embeddedProfile, embeddedProfileNames } from "../../src/embedded/profiles.ts";
import { LIBVIRT_CPU_MAP } from "../../src/libvirt/cpu-map.ts";
import { formatLibvirtCpu, profileToLibvirtCpu } from "../../src/libvirt/cpu-xml.ts";
import { profileFromLibvirtXml } from "../../src/libvirt/import.ts";
import { profileBitState } from "../../src/qemu/feature-state.ts";
import { guestMsrProblems } from "../../src/profile/guest-msrs.ts";
import { cpuprof } from "../cli/run.ts";

const DOMCAPS = `<domainCapabilities>
  <path>/usr/bin/qemu-system-x86_64</path>
  <domain>kvm</domain>
  <arch>x86_64</arch>
  <cpu>
    <mode name='host-passthrough' supported='yes'/>
    <mode name='host-model' supported='yes'>
      <model fallback='forbid'>EPYC-Milan</model>
      <vendor>AMD</vendor>
      <feature policy='require' name='x2apic'/>
      <feature policy='require' name='hypervisor'/>
      <feature policy='disable' name='svm'/>
      <feature policy='optional' name='invtsc'/>
    </mode>
    <mode name='custom' supported='yes'>
      <model usable='yes' vendor='AMD'>EPYC</model>
    </mode>
  </cpu>
</domainCapabilities>
`;

describe("import libvirt", () => {
  test("domcapabilities host-model: model features, require/disable fixed, optional left to the host", () => {
    const p = profileFromLibvirtXml(DOMCAPS, "caps.xml", LIBVIRT_CPU_MAP);
    expect(p.name).toBe("epyc-milan");
    expect(p.vendor).toBe("amd");
    const bit = (n: string) => LIBVIRT_CPU_MAP.features.find((f) => f.name === n)!.bit;
    const milan = LIBVIRT_CPU_MAP.models.find((m) => m.name === "EPYC-Milan")!;
    expect(profileBitState(p, bit("x2apic"))).toBe(1);
    expect(profileBitState(p, bit("svm"))).toBe(0);
    expect(profileBitState(p, bit("invtsc"))).toBe("host");
    for (const f of milan.features.filter((x) => !["svm", "invtsc"].includes(x)))
      expect(profileBitState(p, bit(f))).toBe(1);
    expect(p.description).toContain("left to the host");
    expect(guestMsrProblems(p)).toEqual([]);
  });

  test("every embedded profile: export libvirt -> import libvirt -> export libvirt is the same <cpu>", () => {
    for (const name of embeddedProfileNames()) {
      const profile = embeddedProfile(name)!;
      if (profile.kind === "host") continue;
      const xml = formatLibvirtCpu(profileToLibvirtCpu(profile, LIBVIRT_CPU_MAP));
      const again = formatLibvirtCpu(
        profileToLibvirtCpu(profileFromLibvirtXml(xml, "cpu.xml", LIBVIRT_CPU_MAP, "again"), LIBVIRT_CPU_MAP),
      );
      expect({ name, again }).toEqual({ name, again: xml });
    }
  });

  test("the same through the CLI (import libvirt FILE -o, export libvirt FILE)", () => {
    const dir = mkdtempSync(join(tmpdir(), "cpuprof-import-libvirt-"));
    try {
      const xml = cpuprof(["export", "libvirt", "ice-lake"]).stdout;
      writeFileSync(join(dir, "cpu.xml"), xml);
      const imp = cpuprof(["import", "libvirt", join(dir, "cpu.xml"), "--name", "again", "-o", join(dir, "p.json")]);
      expect(imp.code).toBe(0);
      expect(cpuprof(["export", "libvirt", join(dir, "p.json")]).stdout).toBe(xml);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  test("bad input is one line, exit 2", () => {
    const dir = mkdtempSync(join(tmpdir(), "cpuprof-import-libvirt-"));
    try {
      for (const [text, msg] of [
        ["<cpu mode='custom'><model>Nope</model></cpu>", "not in libvirt"],
        ["<cpu mode='host-passthrough'/>", "no <cpu> element"],
        ["<cpu mode='custom'><model>Skylake-Server</model><feature policy='require' name='bogus'/></cpu>", "bogus"],
        ["<domain/>", "no <cpu> element"],
      ] as const) {
        writeFileSync(join(dir, "x.xml"), text);
        const r = cpuprof(["import", "libvirt", join(dir, "x.xml")]);
        expect(r.code).toBe(2);
        expect(r.stderr.trim().split("\n")).toHaveLength(1);
        expect(r.stderr).toContain(msg);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  test("profileToLibvirtCpu of an imported profile names the same model", () => {
    const p = profileFromLibvirtXml(DOMCAPS, "caps.xml", LIBVIRT_CPU_MAP);
    expect(profileToLibvirtCpu(p, LIBVIRT_CPU_MAP).model).toBe("EPYC-Milan");
  });
});
