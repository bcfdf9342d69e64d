// A libvirt <cpu> element, or the host-model of `virsh domcapabilities`, as a cpuprof profile:
// every feature of libvirt's CPU map is fixed as the model plus <feature> policies make it
// (optional: left to the host), every other field is left to the host.
import { InputError } from "../errors.ts";
import { profileFromFixedBits, profileNameFrom, type FixedBit } from "../formats/feature-profile.ts";
import { printable } from "../model/document.ts";
import type { Profile } from "../model/profile.ts";
import type { LibvirtCpuMap } from "./cpu-map-parse.ts";

function attrs(tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of tag.matchAll(/([a-z_]+)=(?:'([^']*)'|"([^"]*)")/g)) out[m[1]!] = m[2] ?? m[3]!;
  return out;
}

const ON = new Set(["require", "force"]);
const OFF = new Set(["disable", "forbid"]);

export function profileFromLibvirtXml(text: string, file: string, map: LibvirtCpuMap, name?: string): Profile {
  const where = printable(file, 200);
  let body: string | undefined;
  let what: string;
  if (/<domainCapabilities[\s>]/.test(text)) {
    const hm = /<mode\s+name=['"]host-model['"]([^>]*)>([\s\S]*?)<\/mode>/.exec(text);
    if (!hm) throw new InputError(`${where}: domain capabilities without a host-model CPU mode`);
    if (/supported=['"]no['"]/.test(hm[1]!))
      throw new InputError(`${where}: the host-model CPU mode is not supported on that host`);
    body = hm[2];
    what = "virsh domcapabilities host-model";
  } else {
    const cpu = /<cpu(\s[^>]*)?>([\s\S]*?)<\/cpu>/.exec(text);
    if (!cpu) throw new InputError(`${where}: no <cpu> element and no <domainCapabilities>`);
    const mode = attrs(cpu[1] ?? "").mode ?? "custom";
    if (mode !== "custom" && mode !== "host-model")
      throw new InputError(
        `${where}: <cpu mode='${printable(mode, 40)}'> names no model; use the host profile for host-passthrough`,
      );
    body = cpu[2];
    what = "libvirt <cpu>";
  }
  const modelName = /<model(?:\s[^>]*)?>\s*([^<\s]+)\s*<\/model>/.exec(body ?? "")?.[1];
  if (!modelName) throw new InputError(`${where}: the CPU has no <model>`);
  const model = map.models.find((m) => m.name === modelName);
  if (!model)
    throw new InputError(`${where}: model '${printable(modelName, 80)}' is not in libvirt ${map.version}'s CPU map`);
  const vendorText = /<vendor>\s*([^<\s]+)\s*<\/vendor>/.exec(body ?? "")?.[1] ?? model.vendor;
  const vendor = vendorText === "Intel" ? "intel" : vendorText === "AMD" ? "amd" : undefined;
  if (!vendor)
    throw new InputError(`${where}: vendor '${printable(vendorText ?? "none", 40)}' is neither Intel nor AMD`);
  const state = new Map<string, boolean | "host">(map.features.map((f) => [f.name, model.features.includes(f.name)]));
  for (const m of (body ?? "").matchAll(/<feature\s([^>]*)\/>/g)) {
    const a = attrs(m[1]!);
    const fname = a.name ?? "";
    if (!state.has(fname))
      throw new InputError(`${where}: feature '${printable(fname, 60)}' is not in libvirt ${map.version}'s CPU map`);
    const policy = a.policy ?? "require";
    state.set(fname, ON.has(policy) ? true : OFF.has(policy) ? false : "host");
  }
  const fixed: FixedBit[] = [];
  for (const f of map.features) {
    const s = state.get(f.name);
    if (s !== "host") fixed.push({ bit: f.bit, on: s === true });
  }
  return profileFromFixedBits(vendor, fixed, {
    name: name ?? profileNameFrom(modelName),
    where,
    description:
      `${what} of ${file.split("/").pop()}: model ${modelName} with its features (libvirt ${map.version} CPU map); ` +
      `fields libvirt does not define (topology, caches, XSAVE sizes, max leaves, family/model/stepping, features without a libvirt name) are left to the host.`,
  });
}
