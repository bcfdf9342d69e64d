// Runs at bundle time (imported `with { type: "macro" }`): reads profiles/*.json and
// returns each deflate-compressed and base64-encoded, so the executable carries the
// profiles inline and needs no file beside it. The JSON is stored without indentation
// (about 70 B less per profile once deflated); profiles.ts restores the exact source bytes.
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseProfile } from "../model/profile.ts";

export function compressedProfiles(): Record<string, string> {
  const dir = resolve(import.meta.dir, "../../profiles");
  const out: Record<string, string> = {};
  for (const file of readdirSync(dir).sort()) {
    if (!file.endsWith(".json")) continue;
    const compact = JSON.stringify(JSON.parse(readFileSync(join(dir, file), "utf8")));
    // zlib's deflate (Bun's) at level 9 is ~100 B smaller per profile than fflate's.
    out[file.slice(0, -".json".length)] = Buffer.from(
      Bun.deflateSync(new TextEncoder().encode(compact), { level: 9, memLevel: 9 }),
    ).toString("base64");
  }
  return out;
}

/**
 * Each profile as parseProfile returns it (validated and normalised here, at bundle time), as JSON with
 * the 64-bit MSR values written as hex strings: the executable needs no schema validation to load one.
 * A profile the schema rejects fails the build.
 */
export function parsedProfiles(): Record<string, string> {
  const dir = resolve(import.meta.dir, "../../profiles");
  const out: Record<string, string> = {};
  for (const file of readdirSync(dir).sort()) {
    if (!file.endsWith(".json")) continue;
    const name = file.slice(0, -".json".length);
    const profile = parseProfile(JSON.parse(readFileSync(join(dir, file), "utf8")), `profiles/${file}`);
    out[name] = JSON.stringify(profile, (_key, value) =>
      typeof value === "bigint" ? `0x${value.toString(16)}` : value,
    );
  }
  return out;
}
