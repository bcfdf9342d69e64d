// Runs at bundle time (imported `with { type: "macro" }`): reads profiles/*.json and
// returns each deflate-compressed and base64-encoded, so the executable carries the
// profiles inline and needs no file beside it.
import { deflateSync } from "fflate";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

export function compressedProfiles(): Record<string, string> {
  const dir = resolve(import.meta.dir, "../../profiles");
  const out: Record<string, string> = {};
  for (const file of readdirSync(dir).sort()) {
    if (!file.endsWith(".json")) continue;
    const bytes = readFileSync(join(dir, file));
    out[file.slice(0, -".json".length)] = Buffer.from(deflateSync(bytes, { level: 9 })).toString("base64");
  }
  return out;
}
