// A profile as libvirt's <cpu mode='custom' match='exact' check='full'>: the model of libvirt's CPU
// map that needs the fewest <feature> elements, plus require/disable for every feature where the
// profile differs from it. With match='exact', a feature the XML does not list keeps the model's value.
import { allCpuidFeatures, allMsrBitFields } from "../catalogue/index.ts";
import type { Profile } from "../model/profile.ts";
import { profileBitState, type FeatureState } from "../qemu/feature-state.ts";
import type { Inexpressible } from "../qemu/cpu-string.ts";
import type { LibvirtBit, LibvirtCpuMap, LibvirtModel } from "./cpu-map-parse.ts";

export type LibvirtPolicy = "require" | "disable";

export interface LibvirtCpu {
  libvirtVersion: string;
  /** null for the host profile (host-passthrough). */
  model: string | null;
  vendor: string | null;
  features: { name: string; policy: LibvirtPolicy }[];
  inexpressible: Inexpressible[];
  /** What the user must add for live migration to work. */
  notes: string[];
}

const INVTSC_NOTE_LIBVIRT =
  "invtsc: libvirt migrates a guest with invtsc only with a fixed TSC frequency, <clock><timer name='tsc' frequency='HZ'/></clock> in the domain (KubeVirt sets it itself)";

export const LIBVIRT_VENDOR = { intel: "Intel", amd: "AMD" } as const;

const bitKey = (b: LibvirtBit) =>
  b.kind === "cpuid" ? `c${b.leaf}.${b.subleaf}.${b.register}.${b.bit}` : `m${b.index}.${b.bit}`;

/** Catalogue features (one name per bit) the map may lack: for the "no libvirt name" reasons. */
function catalogueBits(): { name: string; bit: LibvirtBit }[] {
  const out: { name: string; bit: LibvirtBit }[] = [];
  for (const f of allCpuidFeatures())
    if (!f.aliasOfLeaf1Edx)
      out.push({
        name: f.linux,
        bit: { kind: "cpuid", leaf: f.leaf, subleaf: f.subleaf ?? 0, register: f.register, bit: f.bit },
      });
  for (const m of allMsrBitFields())
    if (m.lsb === m.msb) out.push({ name: m.name, bit: { kind: "msr", index: m.index, bit: m.lsb } });
  return out;
}

export function profileToLibvirtCpu(profile: Profile, map: LibvirtCpuMap): LibvirtCpu {
  if (profile.kind === "host")
    return { libvirtVersion: map.version, model: null, vendor: null, features: [], inexpressible: [], notes: [] };
  const wanted = new Map<string, boolean>();
  const inexpressible: Inexpressible[] = [];
  const known = new Set<string>();
  for (const f of map.features) {
    known.add(bitKey(f.bit));
    const state: FeatureState = profileBitState(profile, f.bit);
    if (state === "host")
      inexpressible.push({
        feature: f.name,
        qemu: null,
        reason: "the profile leaves it to the host; a libvirt model fixes every feature",
      });
    else wanted.set(f.name, state === 1);
  }
  for (const c of catalogueBits())
    if (!known.has(bitKey(c.bit)) && profileBitState(profile, c.bit) === 1)
      inexpressible.push({
        feature: c.name,
        qemu: null,
        reason: c.name.startsWith("kvm_feature_")
          ? "KVM paravirtual feature: not in libvirt's CPU map; the domain's <features><kvm>, <clock> and QEMU's -accel kvm defaults set these"
          : `libvirt ${map.version}'s CPU map has no feature for it`,
      });
  const vendor = LIBVIRT_VENDOR[profile.vendor];
  let best: { model: LibvirtModel; features: LibvirtCpu["features"] } | null = null;
  for (const model of map.models) {
    if (model.vendor !== vendor) continue;
    const has = new Set(model.features);
    const req: LibvirtCpu["features"] = [];
    const dis: LibvirtCpu["features"] = [];
    for (const [name, on] of wanted)
      if (has.has(name) !== on) (on ? req : dis).push({ name, policy: on ? "require" : "disable" });
    const features = [...req, ...dis];
    if (!best || features.length < best.features.length) best = { model, features };
  }
  if (!best) throw new Error(`libvirt ${map.version}: no ${vendor} model`);
  const notes = wanted.get("invtsc") === true ? [INVTSC_NOTE_LIBVIRT] : [];
  return { libvirtVersion: map.version, model: best.model.name, vendor, features: best.features, inexpressible, notes };
}

/** The <cpu> element; attribute values are names from the CPU map ([A-Za-z0-9_.-]), so no escaping is needed. */
export function formatLibvirtCpu(cpu: LibvirtCpu): string {
  if (cpu.model === null) return `<cpu mode='host-passthrough' check='none' migratable='on'/>\n`;
  const lines = [
    `<cpu mode='custom' match='exact' check='full'>`,
    `  <model fallback='forbid'>${cpu.model}</model>`,
    `  <vendor>${cpu.vendor}</vendor>`,
  ];
  for (const f of cpu.features) lines.push(`  <feature policy='${f.policy}' name='${f.name}'/>`);
  lines.push(`</cpu>`);
  return `${lines.join("\n")}\n`;
}

/** KubeVirt's spec.template.spec.domain.cpu block (KubeVirt passes model and features to libvirt). */
export function formatKubevirtCpu(cpu: LibvirtCpu, comment: string): string {
  const lines = [`# ${comment}`, "cpu:"];
  if (cpu.model === null) lines.push("  model: host-passthrough");
  else {
    lines.push(`  model: ${JSON.stringify(cpu.model)}`);
    if (cpu.features.length) {
      lines.push("  features:");
      for (const f of cpu.features) lines.push(`    - name: ${JSON.stringify(f.name)}`, `      policy: ${f.policy}`);
    }
  }
  return `${lines.join("\n")}\n`;
}
