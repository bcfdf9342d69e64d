// Cloud Hypervisor's CPU profile files (the generation tool of pull request 7562):
//   CPUID: {"adjustments": [[{"leaf","sub_leaf":{"start","end"},"register":"EAX"}, {"replacements","mask"}], …]}
//   MSR:   {"adjustments": [["0x10a", {"replacements","mask"}], …], "required_msrs": ["0x10", …]}
// Upstream writes unpadded lower-case hex everywhere; the early format adds top-level `hypervisor`
// and `cpu_vendor` and writes zero-padded hex with numeric sub_leaf bounds. Both are read; upstream is written.
// The semantics are cpuprof's own (guest = (host & mask) | replacements, unmatched registers 0), so no translation.
import * as v from "valibot";
import { InputError } from "../errors.ts";
import { REGISTERS, type Register } from "../model/cpuid.ts";
import { parseJsonText, parseWith, printable, stableJson } from "../model/document.ts";
import { hex32, hex64, parseHex32, parseHex64 } from "../model/hex.ts";
import { checkProfile, normaliseProfile, checkProfileName, type Profile } from "../model/profile.ts";
import type { Vendor } from "../model/vendor.ts";
import { policyFor } from "../policy/index.ts";
import { reconcilePermittedMsrs } from "../profile/guest-msrs.ts";
import { TOOL_VERSION } from "../version.ts";

const CHV_REGISTERS = ["EAX", "EBX", "ECX", "EDX"] as const;
type ChvRegister = (typeof CHV_REGISTERS)[number];

/** Cloud Hypervisor's CpuVendor spelling. */
const CHV_VENDORS: Record<string, Vendor> = { Intel: "intel", AMD: "amd" };

const anyHex32 = v.pipe(
  v.string(),
  v.check((s) => parseHex32(s) !== undefined, "a 32-bit 0x hex string"),
  v.transform((s) => parseHex32(s)!),
);
const anyHex64 = v.pipe(
  v.string(),
  v.check((s) => parseHex64(s) !== undefined, "a 64-bit 0x hex string"),
  v.transform((s) => parseHex64(s)!),
);
/** Upstream writes sub_leaf bounds as hex strings, the early format as numbers. */
const subleafBound = v.union(
  [anyHex32, v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(0xffffffff))],
  "a 32-bit 0x hex string or integer",
);

const cpuidFileSchema = v.object({
  hypervisor: v.optional(v.string()),
  cpu_vendor: v.optional(v.picklist(Object.keys(CHV_VENDORS))),
  adjustments: v.pipe(
    v.array(
      v.strictTuple([
        v.object({
          leaf: anyHex32,
          sub_leaf: v.object({ start: subleafBound, end: subleafBound }),
          register: v.picklist(CHV_REGISTERS),
        }),
        v.object({ replacements: anyHex32, mask: anyHex32 }),
      ]),
    ),
    v.maxLength(8192),
  ),
});

const msrFileSchema = v.object({
  adjustments: v.pipe(
    v.array(v.strictTuple([anyHex32, v.object({ replacements: anyHex64, mask: anyHex64 })])),
    v.maxLength(4096),
  ),
  required_msrs: v.optional(v.pipe(v.array(anyHex32), v.maxLength(65536)), []),
});

const toChvRegister = (r: Register): ChvRegister => r.toUpperCase() as ChvRegister;
const fromChvRegister = (r: ChvRegister): Register => REGISTERS[CHV_REGISTERS.indexOf(r)]!;

export interface ChvFiles {
  cpuid: string;
  msr: string;
}

/** The two files Cloud Hypervisor reads, in its upstream format, deterministic. */
export function exportChv(profile: Profile): ChvFiles {
  if (profile.kind === "host")
    throw new InputError(
      `profile ${profile.name}: a host-kind profile has no adjustments; Cloud Hypervisor needs no profile files for it`,
    );
  const p = normaliseProfile(profile);
  const cpuid = {
    adjustments: p.cpuid.map((a) => [
      {
        leaf: hex32(a.leaf),
        sub_leaf: { start: hex32(a.subleaf.start), end: hex32(a.subleaf.end) },
        register: toChvRegister(a.register),
      },
      { replacements: hex32(a.replacements), mask: hex32(a.mask) },
    ]),
  };
  const msr = {
    adjustments: p.msrs.map((m) => [hex32(m.index), { replacements: hex64(m.replacements), mask: hex64(m.mask) }]),
    required_msrs: p.permittedMsrs.map(hex32),
  };
  // What we write, we read: each file through the schema importChv reads it with.
  parseWith(cpuidFileSchema, cpuid, `the Cloud Hypervisor CPUID file to write (${printable(p.name, 64)})`);
  parseWith(msrFileSchema, msr, `the Cloud Hypervisor MSR file to write (${printable(p.name, 64)})`);
  return { cpuid: stableJson(cpuid), msr: stableJson(msr) };
}

export interface ChvImportOptions {
  /** Overrides the early format's cpu_vendor; required for upstream files, which do not say. */
  vendor?: Vendor;
  name: string;
  cpuidFile: string;
  msrFile?: string;
  description?: string;
}

/** Runs the profile's semantic checks, reporting paths as they are in the Cloud Hypervisor file. */
function checkAs(p: Profile, file: string, from: "cpuid" | "msrs", originalIndex: readonly number[]): void {
  try {
    checkProfile(p, file);
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    const path = new RegExp(`\\$\\.${from}\\[(\\d+)\\]`, "g");
    throw new InputError(e.message.replace(path, (_, i: string) => `$.adjustments[${originalIndex[Number(i)] ?? i}]`));
  }
}

/**
 * Cloud Hypervisor's generator has written the same adjustment twice (leaf 0x23 subleaf 4 EBX in the
 * Sapphire Rapids and Skylake profiles). Identical repeats change nothing, so they are dropped;
 * repeats that disagree are left for checkProfile to refuse as overlaps.
 */
function dropIdenticalRepeats<T>(items: readonly T[], keyOf: (t: T) => string): { kept: T[]; originalIndex: number[] } {
  const seen = new Set<string>();
  const kept: T[] = [];
  const originalIndex: number[] = [];
  items.forEach((item, i) => {
    const k = keyOf(item);
    if (seen.has(k)) return;
    seen.add(k);
    kept.push(item);
    originalIndex.push(i);
  });
  return { kept, originalIndex };
}

export function importChv(cpuidText: string, msrText: string | undefined, opts: ChvImportOptions): Profile {
  const cpuidFile = opts.cpuidFile;
  checkProfileName(opts.name);
  const msrFile = opts.msrFile ?? "msr file";
  const c = parseWith(cpuidFileSchema, parseJsonText(cpuidText, cpuidFile), cpuidFile);
  const m = msrText === undefined ? undefined : parseWith(msrFileSchema, parseJsonText(msrText, msrFile), msrFile);
  const vendor = opts.vendor ?? (c.cpu_vendor === undefined ? undefined : CHV_VENDORS[c.cpu_vendor]);
  if (vendor === undefined)
    throw new InputError(
      `${printable(cpuidFile, 200)}: $: the file does not name its CPU vendor (no cpu_vendor); give the vendor (intel or amd)`,
    );
  const cpuid = dropIdenticalRepeats(c.adjustments, ([k, a]) =>
    [k.leaf, k.sub_leaf.start, k.sub_leaf.end, k.register, a.replacements, a.mask].join("/"),
  );
  const profile: Profile = {
    name: opts.name,
    version: 1,
    vendor,
    kind: "profile",
    description: opts.description ?? `Imported from Cloud Hypervisor profile ${printable(cpuidFile, 200)}`,
    sourceHosts: [],
    toolVersion: TOOL_VERSION,
    cpuid: cpuid.kept.map(([k, a]) => ({
      leaf: k.leaf,
      subleaf: { start: k.sub_leaf.start, end: k.sub_leaf.end },
      register: fromChvRegister(k.register),
      replacements: a.replacements,
      mask: a.mask,
    })),
    msrs: (m?.adjustments ?? []).map(([index, a]) => ({ index, replacements: a.replacements, mask: a.mask })),
    permittedMsrs: [],
  };
  // The file's list, reconciled with what a guest OS needs for the profile's features (guest-msrs.ts).
  profile.permittedMsrs = reconcilePermittedMsrs(policyFor(vendor), profile, m?.required_msrs ?? []);
  checkAs({ ...profile, msrs: [] }, printable(cpuidFile, 200), "cpuid", cpuid.originalIndex);
  checkAs(
    { ...profile, cpuid: [] },
    printable(msrFile, 200),
    "msrs",
    profile.msrs.map((_, i) => i),
  );
  return normaliseProfile(profile);
}
