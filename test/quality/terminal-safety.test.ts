// Terminal safety: strings from input files (host brand, kernel, vendor string; profile description,
// source hosts, tool version; file names in errors) must reach the terminal without control
// characters: no ESC sequences, no carriage returns, no bidi overrides, no C1 controls.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { embeddedProfile } from "../../src/embedded/profiles.ts";
import { profileToJson } from "../../src/model/profile.ts";
import { loadSeeds } from "./generators.ts";
import { fixturesMissing } from "../helpers/fixtures.ts";
import { fixtureHost } from "../cli/run.ts";
import { copyFileSync } from "node:fs";

const REPO = resolve(import.meta.dir, "../..");
const BUN = join(REPO, "node_modules/.bin/bun");

/** Everything that may not reach a terminal from input; tab and newline are the output's own. */
const UNSAFE_OUTPUT = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

const EVIL = "X\u001b[31mRED\u001b]0;pwned\u0007\rCR\u202eRLO\u0085NEL\u009b2J\u2066ISO";

let dir: string;
const files: Record<string, string> = {};

function brandLeaves(brand: string): number[] {
  // CPUID 0x80000002..4: 48 bytes of brand string, little-endian in eax, ebx, ecx, edx
  const bytes = new Uint8Array(48);
  for (let i = 0; i < Math.min(brand.length, 47); i++) bytes[i] = brand.charCodeAt(i) & 0xff;
  const words: number[] = [];
  for (let i = 0; i < 48; i += 4)
    words.push((bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24)) >>> 0);
  return words;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "cpuprof-tty-"));
  const seeds = loadSeeds();
  const host = structuredClone(seeds.find((s) => s.label === "synthetic:own")!.doc) as Record<string, unknown>;
  Object.assign(host, { brand: EVIL, kernel: EVIL, vendorString: EVIL });
  files.host = join(dir, "evil-host.json");
  writeFileSync(files.host, JSON.stringify(host));

  // a Firecracker fingerprint whose CPUID brand leaves hold ESC, CR and C1 bytes, and whose kernel is evil
  const fp = structuredClone(seeds.find((s) => s.label === "synthetic:fingerprint")!.doc) as {
    kernel_version: string;
    guest_cpu_config: {
      cpuid_modifiers: {
        leaf: string;
        subleaf: string;
        flags: number;
        modifiers: { register: string; bitmap: string }[];
      }[];
    };
  };
  fp.kernel_version = EVIL.slice(0, 40);
  const words = brandLeaves("Intel\u001b[2J\u001b]0;x\u0007\r\u009b\u0085 Xeon");
  for (let k = 0; k < 3; k++)
    fp.guest_cpu_config.cpuid_modifiers.push({
      leaf: `0x${(0x80000002 + k).toString(16)}`,
      subleaf: "0x0",
      flags: 0,
      modifiers: (["eax", "ebx", "ecx", "edx"] as const).map((register, r) => ({
        register,
        bitmap: `0b${words[k * 4 + r]!.toString(2).padStart(32, "0")}`,
      })),
    });
  const leaf0 = fp.guest_cpu_config.cpuid_modifiers.find((m) => m.leaf === "0x80000000")!;
  leaf0.modifiers[0]!.bitmap = `0b${(0x80000008).toString(2).padStart(32, "0")}`;
  files.fingerprint = join(dir, "evil-fingerprint.json");
  writeFileSync(files.fingerprint, JSON.stringify(fp));

  const profile = profileToJson(embeddedProfile("skylake")!) as Record<string, unknown>;
  Object.assign(profile, {
    description: EVIL,
    toolVersion: EVIL.slice(0, 60),
    sourceHosts: [{ model: EVIL, microcode: null, kernel: EVIL }],
  });
  files.profile = join(dir, "evil-profile.json");
  writeFileSync(files.profile, JSON.stringify(profile));
  files.evilName = join(dir, "name\u001b[31m\r\u202e.json");
  writeFileSync(files.evilName, "{ not json");
  // valid captures under hostile names: the names are printed by diff, matrix, baseline and export
  files.evilNamedHost = join(dir, "own\u001b]0;pwned\u0007\r\u009b2J.json");
  writeFileSync(files.evilNamedHost, JSON.stringify(seeds.find((s) => s.label === "synthetic:own")!.doc));
  if (!fixturesMissing) {
    files.evilIntel = join(dir, "sky\u001b[31m\u202e.json");
    copyFileSync(fixtureHost("INTEL_SKYLAKE"), files.evilIntel);
    files.evilAmd = join(dir, "milan\u001b[2J\r.json");
    copyFileSync(fixtureHost("AMD_MILAN"), files.evilAmd);
  }
  files.evilDir = join(dir, "out\u001b[31m\r\u0085dir");
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(argv: string[]): Promise<{ code: number; out: string }> {
  const proc = Bun.spawn([BUN, join(REPO, "src/cli/main.ts"), ...argv], { stdout: "pipe", stderr: "pipe", cwd: dir });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, out: stdout + stderr };
}

describe("no control characters from input reach the terminal", () => {
  const cases: [string, () => string[]][] = [
    ["host --from (own capture: brand, kernel, vendor string)", () => ["host", "--from", files.host!]],
    ["host --from (fingerprint: brand from CPUID bytes, kernel)", () => ["host", "--from", files.fingerprint!]],
    [
      "generate --host -o (summary names the brand)",
      () => ["generate", "--name", "evil", "--host", files.host!, "-o", join(dir, "gen.json")],
    ],
    ["show (description, source hosts, tool version)", () => ["show", files.profile!]],
    ["diff of two evil hosts", () => ["diff", files.host!, files.fingerprint!]],
    ["diff of an evil profile", () => ["diff", files.profile!, "skylake"]],
    ["matrix", () => ["matrix", files.host!, files.fingerprint!, "--profiles", files.profile!]],
    ["check-migration", () => ["check-migration", "--from", files.host!, "--to", files.fingerprint!]],
    ["verify offline", () => ["verify", files.profile!, "--host", files.host!]],
    ["apply", () => ["apply", files.profile!, "--host", files.host!]],
    ["baseline", () => ["baseline", files.host!, files.fingerprint!, "--name", "evil", "-o", join(dir, "base.json")]],
    ["error naming a file with control characters", () => ["show", files.evilName!]],
    ["error naming a missing file with control characters", () => ["host", "--from", `${files.evilName!}\u001b[0m`]],
    ["unknown command with control characters", () => ["\u001b[31mnope\r"]],
    ["diff naming files with control characters", () => ["diff", files.evilNamedHost!, "skylake"]],
    ["diff --json naming files with control characters", () => ["diff", files.evilNamedHost!, "skylake", "--json"]],
    [
      "matrix labelling hosts by hostile file names",
      () => ["matrix", files.evilNamedHost!, files.host!, "--profiles", "skylake"],
    ],
    ["export chv: the 'wrote' lines name a hostile directory", () => ["export", "chv", "skylake", files.evilDir!]],
    ["an unknown option with control characters", () => ["show", "--\u001b[31mx"]],
  ];
  const fixtureCases: [string, () => string[]][] = [
    [
      "baseline error naming hosts of different vendors by hostile file names",
      () => ["baseline", files.evilIntel!, files.evilAmd!, "--name", "x"],
    ],
    ["matrix of fixture hosts under hostile names", () => ["matrix", files.evilIntel!, files.evilAmd!]],
  ];
  for (const [name, argv] of fixtureCases)
    test.skipIf(fixturesMissing !== undefined)(
      `${name}${fixturesMissing ? ` (skipped: ${fixturesMissing})` : ""}`,
      async () => {
        const { code, out } = await run(argv());
        expect(code).toBeLessThan(4);
        const bad = out.match(UNSAFE_OUTPUT);
        expect(
          bad
            ? `${JSON.stringify(bad[0])} at ${bad.index}: ${JSON.stringify(out.slice(Math.max(0, bad.index! - 60), bad.index! + 20))}`
            : "clean",
        ).toBe("clean");
      },
    );
  for (const [name, argv] of cases)
    test(name, async () => {
      const { code, out } = await run(argv());
      expect(code).toBeLessThan(4);
      const bad = out.match(UNSAFE_OUTPUT);
      expect(
        bad
          ? `${JSON.stringify(bad[0])} at ${bad.index}: ${JSON.stringify(out.slice(Math.max(0, bad.index! - 60), bad.index! + 20))}`
          : "clean",
      ).toBe("clean");
    });
});
