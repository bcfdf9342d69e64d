// A CPU profile: Cloud Hypervisor's adjustment semantics plus cpuprof metadata.
//   guest = (host & mask) | replacements, per (leaf, inclusive subleaf range, register);
//   a register that no adjustment matches becomes 0 (unless kind is "host").
import * as v from "valibot";
import { InputError } from "../errors.ts";
import { REGISTERS, type Register } from "./cpuid.ts";
import { hex32, hex64, parseHex32 } from "./hex.ts";
import { type DocumentCodec, fieldSchemas, parseDocument, printable, serializeDocument } from "./document.ts";
import { once } from "./memo.ts";
import type { Vendor } from "./vendor.ts";

export const PROFILE_FORMAT = "cpuprof-profile";
/** 2: permittedMsrs as ranges ("0x200-0x21f"); 1 (still read): one hex string per MSR. */
export const PROFILE_FORMAT_VERSION = 2;
/** Most MSRs permittedMsrs may name once its ranges are expanded (as version 1's list). */
export const MAX_PERMITTED_MSRS = 65536;

/** "profile": adjustments as above. "host": no adjustments at all, the host as it is (Cloud Hypervisor's Host profile). */
export type ProfileKind = "profile" | "host";

export interface CpuidAdjustment {
  leaf: number;
  subleaf: { start: number; end: number };
  register: Register;
  replacements: number;
  mask: number;
}

export interface MsrAdjustment {
  index: number;
  replacements: bigint;
  mask: bigint;
}

export interface SourceHost {
  model: string;
  microcode: string | null;
  kernel: string | null;
  /** How many of the input hosts were this one (model, microcode and kernel), when more than one. */
  count?: number;
}

export interface Profile {
  name: string;
  version: number;
  vendor: Vendor;
  kind: ProfileKind;
  description: string;
  sourceHosts: SourceHost[];
  toolVersion: string;
  cpuid: CpuidAdjustment[];
  msrs: MsrAdjustment[];
  /** MSRs a guest may access; the filter denies the host's other known MSRs. */
  permittedMsrs: number[];
}

/** Profile names: kebab-case, as Cloud Hypervisor names them (`sapphire-rapids`, `skylake-v2`). */
export const PROFILE_NAME_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** The one message for a bad profile name, wherever a name is given (options, imports, the wizard). */
export const PROFILE_NAME_RULE =
  "a profile name is kebab-case: a-z, 0-9 and '-', starting with a letter or digit, at most 63 characters";

/** Why `name` cannot name a profile, or undefined when it can. */
export function profileNameProblem(name: string): string | undefined {
  return PROFILE_NAME_RE.test(name) ? undefined : `'${printable(name, 70)}': ${PROFILE_NAME_RULE}`;
}

/** The one profile-name check: throws the one message (InputError, exit 2), prefixed with where the name came from. */
export function checkProfileName(name: string, where?: string): string {
  const problem = profileNameProblem(name);
  if (problem) throw new InputError(`${where ? `${where}: ` : ""}${problem}`);
  return name;
}

/** One MSR ("0x10") or an inclusive range of them ("0x200-0x21f", start below end). */
const MSR_RANGE_RE = /^(0x(?:0|[1-9a-f][0-9a-f]{0,7}))(?:-(0x(?:0|[1-9a-f][0-9a-f]{0,7})))?$/;

/** The profile document's schemas, built on first use (fieldSchemas in document.ts says why). */
function buildProfileSchemas() {
  const { hexString, hexU32, hexU64, registerName, vendorName } = fieldSchemas();
  const text = (max: number) => v.pipe(v.string(), v.maxLength(max));

  const msrRange = v.pipe(
    v.string(),
    v.regex(MSR_RANGE_RE, 'an MSR ("0x10") or a range of MSRs ("0x200-0x21f") in lower-case 0x hex without padding'),
    v.transform((s) => {
      const m = MSR_RANGE_RE.exec(s)!;
      const start = parseHex32(m[1]!);
      const end = m[2] === undefined ? start : parseHex32(m[2]);
      return { start: start ?? -1, end: end ?? -1 };
    }),
    v.check((r) => r.start >= 0 && r.end >= 0, "32-bit MSR indices"),
    v.check((r) => r.start <= r.end, "a range whose start is not above its end"),
  );

  const profileFields = {
    format: v.literal(PROFILE_FORMAT),
    name: v.pipe(v.string(), v.regex(PROFILE_NAME_RE, "a kebab-case name")),
    version: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1_000_000)),
    vendor: vendorName,
    kind: v.picklist(["profile", "host"]),
    description: text(1024),
    sourceHosts: v.pipe(
      v.array(
        v.strictObject({
          model: text(256),
          microcode: v.nullable(hexString),
          kernel: v.nullable(text(256)),
          count: v.optional(v.pipe(v.number(), v.integer(), v.minValue(2), v.maxValue(Number.MAX_SAFE_INTEGER))),
        }),
      ),
      v.maxLength(10_000),
    ),
    toolVersion: text(64),
    msrs: v.pipe(v.array(v.strictObject({ index: hexU32, replacements: hexU64, mask: hexU64 })), v.maxLength(4096)),
  };

  /** Version 1's CPUID form, Cloud Hypervisor's: one entry per (leaf, subleaf range, register). */
  const cpuidV1 = v.pipe(
    v.array(
      v.strictObject({
        leaf: hexU32,
        subleaf: v.strictObject({ start: hexU32, end: hexU32 }),
        register: registerName,
        replacements: hexU32,
        mask: hexU32,
      }),
    ),
    v.maxLength(8192),
  );

  /** A register's adjustment in version 2: "0xR" (replacements R, mask 0) or ["0xR", "0xM"]. */
  const registerAdjustment = v.union([hexU32, v.tuple([hexU32, hexU32])]);

  /**
   * Version 2's CPUID form: one entry per (leaf, subleaf range) with the registers it adjusts;
   * no subleaf means every subleaf (0x0-0xffffffff). The same adjustments as version 1, in fewer bytes.
   */
  const cpuidV2 = v.pipe(
    v.array(
      v.pipe(
        v.strictObject({
          leaf: hexU32,
          subleaf: v.optional(v.strictObject({ start: hexU32, end: hexU32 })),
          eax: v.optional(registerAdjustment),
          ebx: v.optional(registerAdjustment),
          ecx: v.optional(registerAdjustment),
          edx: v.optional(registerAdjustment),
        }),
        v.check((g) => REGISTERS.some((r) => g[r] !== undefined), "at least one of eax, ebx, ecx, edx"),
      ),
    ),
    v.maxLength(8192),
    // The same bound as version 1: at most 8192 adjustments in all.
    v.check(
      (gs) => gs.reduce((n, g) => n + REGISTERS.filter((r) => g[r] !== undefined).length, 0) <= 8192,
      "<=8192 register adjustments in all",
    ),
  );

  const profile = v.variant("formatVersion", [
    v.strictObject({
      ...profileFields,
      formatVersion: v.literal(PROFILE_FORMAT_VERSION),
      cpuid: cpuidV2,
      permittedMsrs: v.pipe(v.array(msrRange), v.maxLength(MAX_PERMITTED_MSRS)),
    }),
    v.strictObject({
      ...profileFields,
      formatVersion: v.literal(1),
      cpuid: cpuidV1,
      permittedMsrs: v.pipe(v.array(hexU32), v.maxLength(MAX_PERMITTED_MSRS)),
    }),
  ]);
  return { cpuidV2, profile };
}

const profileSchemas = once(buildProfileSchemas);
export const profileSchema = () => profileSchemas().profile;
type CpuidV2Group = v.InferOutput<ReturnType<typeof buildProfileSchemas>["cpuidV2"]>[number];

const ALL_SUBLEAVES = { start: 0, end: 0xffffffff } as const;

/** Where each adjustment of a document sits, for error messages. */
interface CpuidPaths {
  /** Entries in the document's cpuid array. */
  entries: number;
  of(i: number): string;
  subleafOf(i: number): string;
}

/** Version 2 entries -> adjustments (registers in eax..edx order) and their JSON paths. */
function expandCpuidV2(groups: readonly CpuidV2Group[]): {
  cpuid: CpuidAdjustment[];
  paths: CpuidPaths;
} {
  const cpuid: CpuidAdjustment[] = [];
  const at: { j: number; register: Register }[] = [];
  groups.forEach((g, j) => {
    const subleaf = g.subleaf ?? { ...ALL_SUBLEAVES };
    for (const register of REGISTERS) {
      const r = g[register];
      if (r === undefined) continue;
      const [replacements, mask] = typeof r === "number" ? [r, 0] : r;
      cpuid.push({ leaf: g.leaf, subleaf: { ...subleaf }, register, replacements, mask });
      at.push({ j, register });
    }
  });
  return {
    cpuid,
    paths: {
      entries: groups.length,
      of: (i) => `$.cpuid[${at[i]!.j}].${at[i]!.register}`,
      subleafOf: (i) => `$.cpuid[${at[i]!.j}].subleaf`,
    },
  };
}

/** Normalised adjustments -> version 2 entries: those of one leaf and subleaf range share one, in order of first appearance. */
function cpuidV2Of(sorted: readonly CpuidAdjustment[]): object[] {
  const entries = new Map<string, Record<string, unknown>>();
  for (const a of sorted) {
    const key = `${a.leaf}:${a.subleaf.start}:${a.subleaf.end}`;
    let entry = entries.get(key);
    if (!entry) {
      entry = { leaf: hex32(a.leaf) };
      if (a.subleaf.start !== ALL_SUBLEAVES.start || a.subleaf.end !== ALL_SUBLEAVES.end)
        entry.subleaf = { start: hex32(a.subleaf.start), end: hex32(a.subleaf.end) };
      entries.set(key, entry);
    }
    entry[a.register] = a.mask === 0 ? hex32(a.replacements) : [hex32(a.replacements), hex32(a.mask)];
  }
  return [...entries.values()];
}

/** Inclusive ranges -> MSR indices; InputError past MAX_PERMITTED_MSRS (a range of 2^32 must not be expanded). */
function expandMsrRanges(ranges: readonly { start: number; end: number }[], file: string): number[] {
  const out: number[] = [];
  for (const [i, r] of ranges.entries()) {
    if (out.length + (r.end - r.start + 1) > MAX_PERMITTED_MSRS)
      throw new InputError(
        `${printable(file, 200)}: $.permittedMsrs[${i}]: more than ${MAX_PERMITTED_MSRS} MSRs in all`,
      );
    for (let x = r.start; x <= r.end; x++) out.push(x);
  }
  return out;
}

/** Sorted distinct MSR indices -> the fewest inclusive ranges, as the format writes them. */
export function msrRangesOf(sorted: readonly number[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    out.push(i === j ? hex32(sorted[i]!) : `${hex32(sorted[i]!)}-${hex32(sorted[j]!)}`);
    i = j + 1;
  }
  return out;
}

function cpuidKeyOrder(a: CpuidAdjustment, b: CpuidAdjustment): number {
  return a.leaf - b.leaf || a.subleaf.start - b.subleaf.start || a.register.localeCompare(b.register);
}

/** Canonical order: adjustments by (leaf, subleaf start, register), MSRs by index. */
export function normaliseProfile(p: Profile): Profile {
  return {
    ...p,
    cpuid: [...p.cpuid].sort(cpuidKeyOrder),
    msrs: [...p.msrs].sort((a, b) => a.index - b.index),
    permittedMsrs: [...new Set(p.permittedMsrs)].sort((a, b) => a - b),
  };
}

/** Semantic checks valibot cannot express: ranges ordered, no overlapping adjustments, no duplicate MSRs, a host profile empty. */
export function checkProfile(
  p: Profile,
  file: string,
  paths: CpuidPaths = {
    entries: p.cpuid.length,
    of: (i) => `$.cpuid[${i}]`,
    subleafOf: (i) => `$.cpuid[${i}].subleaf`,
  },
): void {
  const where = printable(file, 200);
  if (p.kind === "host")
    for (const key of ["cpuid", "msrs", "permittedMsrs"] as const)
      if (p[key].length > 0)
        throw new InputError(
          `${where}: $.${key}: expected none for kind "host" (the host as it is), got ${key === "cpuid" ? paths.entries : p[key].length}`,
        );
  p.cpuid.forEach((a, i) => {
    if (a.subleaf.start > a.subleaf.end)
      throw new InputError(
        `${where}: ${paths.subleafOf(i)}: expected start <= end, got ${hex32(a.subleaf.start)} > ${hex32(a.subleaf.end)}`,
      );
  });
  // Overlaps are between ranges of the same (leaf, register): sort by exactly that, then by start,
  // so entries of other registers cannot sit between two overlapping ranges.
  const sorted = p.cpuid
    .map((a, i) => ({ a, i }))
    .sort(
      (x, y) =>
        x.a.leaf - y.a.leaf || x.a.register.localeCompare(y.a.register) || x.a.subleaf.start - y.a.subleaf.start,
    );
  for (let k = 1; k < sorted.length; k++) {
    const prev = sorted[k - 1]!,
      cur = sorted[k]!;
    if (prev.a.leaf === cur.a.leaf && prev.a.register === cur.a.register && cur.a.subleaf.start <= prev.a.subleaf.end)
      throw new InputError(
        `${where}: ${paths.of(cur.i)}: overlaps ${paths.of(prev.i)} (leaf ${hex32(cur.a.leaf)} ${cur.a.register.toUpperCase()})`,
      );
  }
  // a register can appear for several disjoint subleaf ranges; same register and start twice is a duplicate (caught above)
  const seen = new Set<number>();
  p.msrs.forEach((m, i) => {
    if (seen.has(m.index)) throw new InputError(`${where}: $.msrs[${i}]: duplicate MSR ${hex32(m.index)}`);
    seen.add(m.index);
  });
}

export function parseProfile(data: unknown, file: string): Profile {
  return parseDocument(PROFILE_CODEC, data, file);
}

export function profileToJson(p: Profile): object {
  const n = normaliseProfile(p);
  return {
    format: PROFILE_FORMAT,
    formatVersion: PROFILE_FORMAT_VERSION,
    name: n.name,
    version: n.version,
    vendor: n.vendor,
    kind: n.kind,
    description: n.description,
    sourceHosts: n.sourceHosts.map((s) => ({
      model: s.model,
      microcode: s.microcode,
      kernel: s.kernel,
      ...(s.count === undefined ? {} : { count: s.count }),
    })),
    toolVersion: n.toolVersion,
    cpuid: cpuidV2Of(n.cpuid),
    msrs: n.msrs.map((m) => ({ index: hex32(m.index), replacements: hex64(m.replacements), mask: hex64(m.mask) })),
    permittedMsrs: msrRangesOf(n.permittedMsrs),
  };
}

/**
 * The profile as its file: validated first with the schema and checks `parseProfile` applies, so
 * cpuprof never writes a profile it would refuse to read (exit 2, naming the JSON path).
 */
export function serializeProfile(p: Profile): string {
  return serializeDocument(PROFILE_CODEC, p, `the profile to write (${printable(p.name, 64)})`);
}

/** The profile as a document: read by parseProfile, written by serializeProfile. */
const PROFILE_CODEC: DocumentCodec<ReturnType<typeof profileSchema>, Profile> = {
  schema: profileSchema,
  fromWire(w, file) {
    const v2 = w.formatVersion === 1 ? undefined : expandCpuidV2(w.cpuid);
    const p: Profile = {
      name: w.name,
      version: w.version,
      vendor: w.vendor,
      kind: w.kind,
      description: w.description,
      sourceHosts: w.sourceHosts,
      toolVersion: w.toolVersion,
      cpuid: w.formatVersion === 1 ? w.cpuid : v2!.cpuid,
      msrs: w.msrs,
      permittedMsrs: w.formatVersion === 1 ? w.permittedMsrs : expandMsrRanges(w.permittedMsrs, file),
    };
    checkProfile(p, file, v2?.paths);
    return normaliseProfile(p);
  },
  toWire: profileToJson,
};

/** The adjustment that applies to (leaf, subleaf, register), if any. */
export function findAdjustment(
  p: Profile,
  leaf: number,
  subleaf: number,
  register: Register,
): CpuidAdjustment | undefined {
  return p.cpuid.find(
    (a) => a.leaf === leaf && a.register === register && subleaf >= a.subleaf.start && subleaf <= a.subleaf.end,
  );
}
