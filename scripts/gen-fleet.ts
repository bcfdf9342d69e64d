// bun scripts/gen-fleet.ts <count> <seed> <out-dir> [host files...]
// Writes <count> synthetic host captures (cpuprof host JSON): copies of the given hosts, by default
// the shared fixtures' Firecracker fingerprints, with random features removed (src/fleet/synthetic.ts).
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { syntheticFleet } from "../src/fleet/synthetic.ts";
import { loadHostFile } from "../src/formats/host-file.ts";
import { serializeHost } from "../src/model/host.ts";

const FIXTURE_HOSTS = resolve(import.meta.dir, "../../shared/fixtures/hosts/firecracker");

const [countText, seedText, outDir, ...files] = process.argv.slice(2);
const count = Number(countText), seed = Number(seedText);
if (!Number.isInteger(count) || count < 0 || !Number.isInteger(seed) || outDir === undefined) {
  console.error("usage: bun scripts/gen-fleet.ts <count> <seed> <out-dir> [host files...]");
  process.exit(2);
}
const inputs = files.length > 0 ? files : existsSync(FIXTURE_HOSTS) ? readdirSync(FIXTURE_HOSTS).sort().map((f) => join(FIXTURE_HOSTS, f)) : [];
if (inputs.length === 0) {
  console.error(`gen-fleet: no host files given and ${FIXTURE_HOSTS} is absent`);
  process.exit(2);
}
const bases = inputs.map((f) => ({ label: basename(f).replace(/\.json$/, ""), host: loadHostFile(readFileSync(f, "utf8"), f) }));
mkdirSync(outDir, { recursive: true });
const width = String(Math.max(count - 1, 0)).length;
syntheticFleet(bases, { count, seed }).forEach((x, n) => writeFileSync(join(outDir, `host-${String(n).padStart(width, "0")}.json`), serializeHost(x.host)));
console.log(`gen-fleet: ${count} captures from ${bases.length} hosts (seed ${seed}) in ${outDir}`);
