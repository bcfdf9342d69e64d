// The released profiles, embedded in the executable at build time (see macro.ts).
// Bun's zlib deflates them at build time and inflates them here (raw DEFLATE); fflate is not
// used at run time, because importing it costs ~4 ms of start-up (it builds its Huffman
// tables at module load and requires worker_threads).
import { compressedProfiles, parsedProfiles } from "./macro.ts" with { type: "macro" };
import { stableJson } from "../model/document.ts";
import type { MsrAdjustment, Profile } from "../model/profile.ts";

const COMPRESSED: Record<string, string> = compressedProfiles();
/** Each profile already parsed (validated, normalised) at bundle time; 64-bit values as hex strings. */
const PARSED: Record<string, string> = parsedProfiles();

export interface EmbeddedProfileInfo {
  name: string;
  compressedBytes: number;
}

export function embeddedProfileNames(): string[] {
  return Object.keys(COMPRESSED).sort();
}

export function embeddedProfileInfo(): EmbeddedProfileInfo[] {
  return embeddedProfileNames().map((name) => ({
    name,
    compressedBytes: Buffer.from(COMPRESSED[name]!, "base64").byteLength,
  }));
}

/**
 * The exact source bytes of an embedded profile (for hashing against profiles.lock): stored without
 * indentation, re-indented as every profile file is written (stableJson).
 */
export function embeddedProfileText(name: string): string | undefined {
  const data = embeddedProfileData(name);
  return data === undefined ? undefined : stableJson(data);
}

/** The embedded JSON, parsed. The macro wrote it with JSON.stringify, so it has no duplicate key to look for. */
function embeddedProfileData(name: string): unknown {
  const data = COMPRESSED[name];
  return data === undefined
    ? undefined
    : JSON.parse(new TextDecoder().decode(Bun.inflateSync(Buffer.from(data, "base64"))));
}

const cache = new Map<string, Profile>();

export function embeddedProfile(name: string): Profile | undefined {
  const hit = cache.get(name);
  if (hit) return hit;
  // The profile as parseProfile returned it at bundle time (macro.ts): validating it again at run
  // time (valibot, then the semantic checks) cost ~0.5 ms of a cold `verify host`.
  const json = PARSED[name];
  if (json === undefined) return undefined;
  const parsed = JSON.parse(json) as Omit<Profile, "msrs"> & {
    msrs: { index: number; replacements: string; mask: string }[];
  };
  const msrs: MsrAdjustment[] = parsed.msrs.map((m) => ({
    index: m.index,
    replacements: BigInt(m.replacements),
    mask: BigInt(m.mask),
  }));
  const profile: Profile = { ...parsed, msrs };
  cache.set(name, profile);
  return profile;
}
