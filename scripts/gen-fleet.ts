// Makes a fleet benchmark input: N captures, one per line (NDJSON, as matrix and baseline read
// them on stdin), from the real fixture hosts, varied as real fleets vary: kernel release,
// microcode revision, and a few features missing (a BIOS setting, an older hypervisor).
// Many machines share a configuration, so most lines repeat one of a few hundred distinct
// captures, with a skewed popularity (a few configurations are most of the fleet).
// Usage: bun scripts/gen-fleet.ts [--count 100000] [--seed 1] [-o FILE]   (stdout without -o)
import { closeSync, openSync, readFileSync, readdirSync, writeSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { removalsOf, seededRandom } from "../src/fleet/synthetic.ts";
import { loadHostFile } from "../src/formats/host-file.ts";
import type { HostCapture } from "../src/model/host.ts";
import { hostToJson } from "../src/model/host.ts";

const FIXTURES = resolve(import.meta.dir, "../../shared/fixtures/hosts/firecracker");

/** Kernel releases a fleet runs side by side (each capture keeps its major line's KVM data). */
const KERNEL_SUFFIXES = ["", "-r1", "-r2"];
/** Microcode revisions: the capture's own and two later ones. */
const MICROCODE_STEPS = [0, 1, 2];
/** Feature sets: complete, and two with one or two features missing. */
const FEATURE_VARIANTS = [0, 1, 2];

export interface FleetOptions {
  count: number;
  seed: number;
}

/** The distinct captures the fleet is drawn from, from every fixture host. */
export function fleetConfigurations(seed: number): HostCapture[] {
  const files = readdirSync(FIXTURES)
    .filter((f) => f.endsWith(".json"))
    .sort();
  const random = seededRandom(seed);
  const out: HostCapture[] = [];
  for (const f of files) {
    const base = loadHostFile(readFileSync(join(FIXTURES, f), "utf8"), f);
    const removals = removalsOf(base);
    for (const suffix of KERNEL_SUFFIXES)
      for (const step of MICROCODE_STEPS)
        for (const missing of FEATURE_VARIANTS) {
          const host: HostCapture = {
            ...base,
            kernel: base.kernel === null ? null : base.kernel + suffix,
            microcode: base.microcode === null ? null : `0x${(parseInt(base.microcode, 16) + step).toString(16)}`,
            cpuid: base.cpuid.map((e) => ({ ...e })),
            featureMsrs: base.featureMsrs.map((m) => ({ ...m })),
          };
          for (let k = 0; k < missing && removals.length > 0; k++) {
            const r = removals[Math.floor(random() * removals.length)]!;
            if (r.where !== "cpuid") continue;
            const e = host.cpuid[r.entry]!;
            e[r.register] = (r.set ? e[r.register] | (1 << r.bit) : e[r.register] & ~(1 << r.bit)) >>> 0;
          }
          out.push(host);
        }
  }
  return out;
}

/** Writes `count` lines; line i is configuration j with a skewed (Zipf-like) choice of j. */
export function writeFleet(fd: number, options: FleetOptions): { lines: number; distinct: number; bytes: number } {
  const configs = fleetConfigurations(options.seed);
  // Configurations that came out identical (a feature removed that was already absent) are one capture.
  const lines = [...new Set(configs.map((h) => `${JSON.stringify(hostToJson(h))}\n`))].map((l) => Buffer.from(l));
  const random = seededRandom(options.seed ^ 0x5eed);
  const used = new Set<number>();
  let bytes = 0;
  const batch: Buffer[] = [];
  let batchBytes = 0;
  const flush = () => {
    const b = Buffer.concat(batch);
    for (let off = 0; off < b.byteLength; ) off += writeSync(fd, b, off);
    batch.length = 0;
    batchBytes = 0;
  };
  for (let i = 0; i < options.count; i++) {
    const j = Math.min(lines.length - 1, Math.floor(lines.length * random() ** 3));
    used.add(j);
    batch.push(lines[j]!);
    batchBytes += lines[j]!.byteLength;
    bytes += lines[j]!.byteLength;
    if (batchBytes > 8 << 20) flush();
  }
  flush();
  return { lines: options.count, distinct: used.size, bytes };
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      count: { type: "string", default: "100000" },
      seed: { type: "string", default: "1" },
      o: { type: "string", short: "o" },
    },
  });
  const count = Number(values.count),
    seed = Number(values.seed);
  if (!Number.isSafeInteger(count) || count < 1 || !Number.isSafeInteger(seed)) {
    console.error("gen-fleet: --count and --seed must be integers (count >= 1)");
    process.exit(2);
  }
  const fd = values.o ? openSync(values.o, "w") : 1;
  const r = writeFleet(fd, { count, seed });
  if (values.o) closeSync(fd);
  console.error(
    `gen-fleet: ${r.lines} captures (${r.distinct} distinct), ${(r.bytes / 1048576).toFixed(0)} MiB${values.o ? ` in ${values.o}` : ""}`,
  );
}
