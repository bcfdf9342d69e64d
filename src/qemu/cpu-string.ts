// A profile as a QEMU `-cpu` value: the named model of the chosen QEMU release that needs the
// fewest +feat/-feat flags, plus those flags, and the features no `-cpu` value can express.
// Pure: the models come from the generated tables in ./models/.
import { InputError } from "../errors.ts";
import { SIGNATURE_MASK } from "../formats/feature-profile.ts";
import { printable } from "../model/document.ts";
import type { Profile } from "../model/profile.ts";
import { signatureOf, type Vendor } from "../model/vendor.ts";
import { profileBitState } from "./feature-state.ts";
import { qemuNamedFeatures, type FeatureName } from "./model-features.ts";
import { QEMU_MODEL_TABLES, QEMU_VENDOR_STRING, type QemuModel, type QemuModelTable } from "./models.ts";

export interface QemuFlag {
  /** QEMU's spelling. */
  qemu: string;
  /** The catalogue's (Linux) name. */
  feature: string;
  on: boolean;
}

export interface Inexpressible {
  feature: string;
  qemu: string | null;
  reason: string;
}

export interface QemuCpu {
  qemuVersion: string;
  model: string;
  flags: QemuFlag[];
  /** family/model/stepping the profile fixes where the model's differ (QEMU's numeric properties). */
  signature: { family?: number; model?: number; stepping?: number };
  /** The -cpu value: model,+a,-b */
  cpu: string;
  inexpressible: Inexpressible[];
  /** What the user must add for live migration to work (expressed, but with conditions). */
  notes: string[];
}

/** Invariant TSC: the guest's TSC frequency must not change across hosts, so QEMU wants it fixed. */
export const INVTSC_NOTE_QEMU =
  "invtsc: QEMU refuses to live-migrate a guest with invtsc unless -cpu also fixes tsc-frequency=HZ (the same on every host; hosts without TSC scaling must run at that frequency)";

/** Features QEMU computes itself, whatever the model or flags say. */
const QEMU_COMPUTES: Readonly<Record<string, string>> = {
  cmp_legacy: "QEMU sets CmpLegacy from the topology (-smp), not from a property",
  ht: "QEMU sets HTT from the topology (-smp), not from a property",
};

interface Wanted {
  f: FeatureName;
  on: boolean;
}

function wantedFeatures(profile: Profile, table: QemuModelTable): { wanted: Wanted[]; inexpressible: Inexpressible[] } {
  const props = new Set(table.properties);
  const wanted: Wanted[] = [];
  const inexpressible: Inexpressible[] = [];
  const named = qemuNamedFeatures();
  const stateOf = new Map(named.map((f) => [f.linux, profileBitState(profile, f.bit)]));
  // One QEMU property can set several bits (kvmclock: KVM_FEATURE_CLOCKSOURCE and CLOCKSOURCE2).
  const byProperty = new Map<string, FeatureName[]>();
  for (const f of named) byProperty.set(f.qemu!, [...(byProperty.get(f.qemu!) ?? []), f]);
  for (const f of named) {
    const state = stateOf.get(f.linux)!;
    if (f.linux in QEMU_COMPUTES) {
      inexpressible.push({ feature: f.linux, qemu: f.qemu, reason: QEMU_COMPUTES[f.linux]! });
      continue;
    }
    if (state === "host") {
      inexpressible.push({
        feature: f.linux,
        qemu: f.qemu,
        reason: "the profile leaves it to the host; a QEMU CPU model fixes every feature",
      });
      continue;
    }
    const sharing = byProperty.get(f.qemu!)!;
    if (sharing.some((g) => stateOf.get(g.linux) !== state)) {
      const others = sharing.filter((g) => g !== f).map((g) => g.linux);
      inexpressible.push({
        feature: f.linux,
        qemu: f.qemu,
        reason: `QEMU's ${f.qemu} also sets ${others.join(", ")}, which the profile does not set alike`,
      });
      continue;
    }
    if (sharing[0] !== f) continue; // the first of its property speaks for all
    if (!props.has(f.linux)) {
      // Without a property QEMU never sets the bit: only a wanted 1 is lost.
      if (state === 1)
        inexpressible.push({
          feature: f.linux,
          qemu: f.qemu,
          reason: `QEMU ${table.version} has no property ${f.qemu}`,
        });
      continue;
    }
    wanted.push({ f, on: state === 1 });
  }
  return { wanted, inexpressible };
}

/**
 * Flags that make the model equal the wanted features as QEMU expands it under -accel kvm: the
 * model's features with QEMU's KVM defaults (kvmclock and the other PV features on, vme and
 * x2apic on, monitor and svm off). cpuprof profiles are for KVM; under TCG QEMU clears the KVM
 * PV features whatever the flags say.
 */
function flagsFor(model: QemuModel, wanted: readonly Wanted[], table: QemuModelTable): QemuFlag[] {
  const has = new Set(model.features);
  const kvmOn = new Set(table.kvmDefaults.on);
  const kvmOff = new Set(table.kvmDefaults.off);
  const on: QemuFlag[] = [];
  const off: QemuFlag[] = [];
  for (const { f, on: want } of wanted) {
    const kvm = kvmOn.has(f.linux) ? true : kvmOff.has(f.linux) ? false : has.has(f.linux);
    if (kvm === want) continue;
    (want ? on : off).push({ qemu: f.qemu!, feature: f.linux, on: want });
  }
  return [...on, ...off];
}

const versionOf = (name: string) => Number(/-v(\d+)$/.exec(name)?.[1] ?? 0);

/**
 * Fewest flags; among equals a model QEMU does not deprecate, then the newest version of a model
 * (later versions carry QEMU's fixes in properties cpuprof does not name, e.g. VMX controls), then by name.
 */
function better(m: QemuModel, flags: number, best: QemuModel, bestFlags: number): boolean {
  if (flags !== bestFlags) return flags < bestFlags;
  if (m.deprecated !== best.deprecated) return !m.deprecated;
  if (versionOf(m.name) !== versionOf(best.name)) return versionOf(m.name) > versionOf(best.name);
  return m.name < best.name;
}

/** The profile's family/model/stepping where it fixes all of CPUID 1.EAX and they differ from the model's. */
function signatureFor(profile: Profile, model: QemuModel): QemuCpu["signature"] {
  const sig = profileSignature(profile);
  if (!sig) return {};
  const out: QemuCpu["signature"] = {};
  if (sig.family !== model.family) out.family = sig.family;
  if (sig.model !== model.model) out.model = sig.model;
  if (sig.stepping !== model.stepping) out.stepping = sig.stepping;
  return out;
}

/**
 * The table for a QEMU version ("7.2" or "7.2.1"). Without one: the oldest QEMU (tables are oldest
 * first) that knows the profile's generation, i.e. has a model of its vendor, family and model
 * number; when none does, the newest.
 */
export function chooseQemuTable(
  version: string | undefined,
  profile?: Profile,
  tables: readonly QemuModelTable[] = QEMU_MODEL_TABLES,
): QemuModelTable | undefined {
  if (version === undefined) {
    const sig = profile ? profileSignature(profile) : undefined;
    const knows = (t: QemuModelTable) =>
      sig !== undefined &&
      t.models.some(
        (m) => m.vendor === QEMU_VENDOR_STRING[profile!.vendor] && m.family === sig.family && m.model === sig.model,
      );
    return tables.find(knows) ?? tables[tables.length - 1];
  }
  const mm = /^(\d+)\.(\d+)/.exec(version);
  if (!mm) return undefined;
  return tables.find((t) => t.version === `${mm[1]}.${mm[2]}`);
}

/** family/model/stepping where the profile fixes CPUID 1.EAX's signature fields. */
function profileSignature(profile: Profile): { family: number; model: number; stepping: number } | undefined {
  const a = profile.cpuid.find((x) => x.leaf === 1 && x.register === "eax" && x.subleaf.start === 0);
  if (!a || (a.mask & SIGNATURE_MASK) !== 0) return undefined;
  return signatureOf([{ function: 1, index: 0, flags: 0, eax: a.replacements, ebx: 0, ecx: 0, edx: 0 }]);
}

export function profileToQemuCpu(profile: Profile, table: QemuModelTable): QemuCpu {
  // The host profile is QEMU's host model: every feature the host's KVM offers.
  if (profile.kind === "host")
    return {
      qemuVersion: table.version,
      model: "host",
      flags: [],
      signature: {},
      cpu: "host",
      inexpressible: [],
      notes: ["host: QEMU's host model is not migratable between different CPUs"],
    };
  const { wanted, inexpressible } = wantedFeatures(profile, table);
  const vendor = QEMU_VENDOR_STRING[profile.vendor as Vendor];
  let best: { model: QemuModel; flags: QemuFlag[] } | null = null;
  for (const model of table.models) {
    if (model.vendor !== vendor) continue;
    const flags = flagsFor(model, wanted, table);
    if (!best || better(model, flags.length, best.model, best.flags.length)) best = { model, flags };
  }
  if (!best) throw new Error(`QEMU ${table.version}: no ${vendor} model`);
  const signature = signatureFor(profile, best.model);
  return {
    qemuVersion: table.version,
    model: best.model.name,
    flags: best.flags,
    signature,
    cpu: [
      best.model.name,
      ...best.flags.map((f) => `${f.on ? "+" : "-"}${f.qemu}`),
      ...Object.entries(signature).map(([k, v]) => `${k}=${v}`),
    ].join(","),
    inexpressible,
    notes: wanted.some((w) => w.f.qemu === "invtsc" && w.on) ? [INVTSC_NOTE_QEMU] : [],
  };
}

/** Split a -cpu value into its model and properties (+f, -f, f=on|off|true|false, numbers; other key=value kept as strings). */
export function parseQemuCpu(value: string): { model: string; props: Record<string, boolean | number | string> } {
  const [model, ...rest] = value.split(",");
  if (!model)
    throw new InputError(
      `-cpu value '${printable(value, 80)}' has no model name (expected MODEL[,+feat,-feat,key=value...])`,
    );
  const props: Record<string, boolean | number | string> = {};
  for (const part of rest) {
    if (part === "") continue;
    if (part.startsWith("+") || part.startsWith("-")) props[part.slice(1)] = part[0] === "+";
    else {
      const eq = part.indexOf("=");
      if (eq < 0) props[part] = true;
      else {
        const [k, v] = [part.slice(0, eq), part.slice(eq + 1)];
        props[k] =
          v === "on" || v === "true" ? true : v === "off" || v === "false" ? false : /^[0-9]+$/.test(v) ? Number(v) : v;
      }
    }
  }
  return { model, props };
}
