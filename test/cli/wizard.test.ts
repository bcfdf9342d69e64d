// The wizard end to end in a real terminal: the real program runs under tmux, keys are sent
// and the pane is polled for the expected text. Plus `cpuprof` with no arguments outside a
// terminal (help on stderr, exit 2).
import { afterAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseProfile } from "../../src/model/profile.ts";

const ROOT = resolve(import.meta.dir, "../..");
const BUN = join(ROOT, "node_modules/.bin/bun");
const MAIN = join(ROOT, "src/cli/main.ts");
const TMUX = "/usr/bin/tmux";
const SKYLAKE_HOST = resolve(ROOT, "../shared/fixtures/hosts/firecracker/fingerprint_INTEL_SKYLAKE_6.1host.json");
const GENOA_HOST = resolve(ROOT, "../shared/fixtures/hosts/firecracker/fingerprint_AMD_GENOA_6.1host.json");

const haveTmux = existsSync(TMUX);
const haveFixture = existsSync(SKYLAKE_HOST);
const skipReason = !haveTmux ? `no tmux at ${TMUX}` : !haveFixture ? `fixture not found: ${SKYLAKE_HOST}` : undefined;

const dirs: string[] = [];
const sessions: string[] = [];

afterAll(() => {
  for (const s of sessions) spawnSync(TMUX, ["kill-session", "-t", s]);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "cpuprof-wizard-"));
  dirs.push(d);
  return d;
}

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/** One wizard run in a detached 120x40 tmux session, cwd `dir`; the pane stays after exit. */
class Term {
  readonly name = `cpuprof-wizard-${process.pid}-${sessions.length}`;
  constructor(readonly dir: string) {
    sessions.push(this.name);
    const cmd = `${quote(BUN)} ${quote(MAIN)}; echo "EXIT=$?"; sleep 60`;
    const r = spawnSync(TMUX, ["new-session", "-d", "-s", this.name, "-x", "120", "-y", "40", "-c", dir, cmd], {
      env: { ...process.env, TERM: "xterm-256color", NO_COLOR: "1" },
    });
    if (r.status !== 0) throw new Error(`tmux new-session failed: ${r.stderr}`);
  }
  pane(): string {
    return (
      spawnSync(TMUX, ["capture-pane", "-p", "-J", "-S", "-300", "-t", this.name], { encoding: "utf8" }).stdout ?? ""
    );
  }
  /** Keys by tmux name (Enter, Down, C-c). */
  keys(...keys: string[]): void {
    spawnSync(TMUX, ["send-keys", "-t", this.name, ...keys]);
  }
  type(text: string): void {
    spawnSync(TMUX, ["send-keys", "-t", this.name, "-l", text]);
  }
  /** Polls the pane until it contains `text` (bounded); returns the pane. */
  async waitFor(text: string | RegExp, timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const pane = this.pane();
      if (typeof text === "string" ? pane.includes(text) : text.test(pane)) return pane;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${String(text)}; pane:\n${pane}`);
      await Bun.sleep(50);
    }
  }
  async exitCode(timeoutMs = 10_000): Promise<number> {
    const pane = await this.waitFor(/EXIT=\d+/, timeoutMs);
    return Number(/EXIT=(\d+)/.exec(pane)![1]);
  }
  /** Chooses "Capture files" at the first prompt, whichever option starts focused. */
  async chooseCaptureFiles(): Promise<void> {
    const pane = await this.waitFor("Which host(s)?");
    if (pane.includes("● This host")) this.keys("Down");
    await this.waitFor("● Capture files");
    this.keys("Enter");
    await this.waitFor("Capture files (");
  }
}

describe("cpuprof with no arguments outside a terminal", () => {
  test("prints help on stderr and exits 2", () => {
    const r = spawnSync(BUN, [MAIN], { cwd: tmpdir(), encoding: "utf8", stdio: ["pipe", "pipe", "pipe"], input: "" });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("Usage: cpuprof COMMAND");
    expect(r.stderr).toContain("an interactive wizard");
  });
});

describe.skipIf(skipReason !== undefined)(
  `wizard in a terminal${skipReason ? ` (skipped: ${skipReason})` : ""}`,
  () => {
    test("capture file -> embedded skylake -> diff -> write -> no verify", async () => {
      const dir = tempDir();
      const out = join(dir, "out", "sky.json");
      const t = new Term(dir);
      await t.chooseCaptureFiles();
      t.type(SKYLAKE_HOST);
      t.keys("Enter");
      await t.waitFor("Loaded 1 capture");
      await t.waitFor("Which profile?");
      t.keys("Down");
      await t.waitFor("● An embedded profile");
      t.keys("Enter");
      await t.waitFor("Embedded profile");
      t.type("skylake");
      await t.waitFor("● skylake");
      t.keys("Enter");
      const diff = await t.waitFor("Write the profile to");
      expect(diff).toContain("skylake on fingerprint_INTEL_SKYLAKE_6.1host.json: compatible");
      expect(diff).toMatch(/hidden from the guest \(\d+\):/);
      expect(diff).toContain("rtm"); // the Skylake profile hides TSX, in feature names
      // A directory that does not exist is refused at the prompt, before anything is written.
      t.type(out);
      t.keys("Enter");
      await t.waitFor("does not exist");
      t.keys("C-u");
      t.type(join(dir, "sky.json"));
      t.keys("Enter");
      await t.waitFor("Wrote ");
      const next = await t.waitFor(/Verify it on this host|Done\./);
      if (next.includes("Verify it on this host")) t.keys("n");
      expect(await t.exitCode()).toBe(0);
      expect(t.pane()).toContain("Done.");
      const profile = parseProfile(JSON.parse(readFileSync(join(dir, "sky.json"), "utf8")), "sky.json");
      expect(profile.name).toBe("skylake");
      expect(profile.vendor).toBe("intel");
      expect(readdirSync(dir).sort()).toEqual(["sky.json"]); // no temporary file left behind
    }, 20_000);

    test("Ctrl-C at the second prompt: exit 130, nothing written", async () => {
      const dir = tempDir();
      const t = new Term(dir);
      await t.chooseCaptureFiles();
      t.type(SKYLAKE_HOST);
      t.keys("C-c");
      await t.waitFor("cancelled");
      expect(await t.exitCode()).toBe(130);
      expect(t.pane()).toContain("nothing written");
      expect(readdirSync(dir)).toEqual([]);
    }, 15_000);

    test("an existing file is not overwritten without a yes", async () => {
      const dir = tempDir();
      const existing = join(dir, "keep.json");
      writeFileSync(existing, "precious\n");
      const t = new Term(dir);
      await t.chooseCaptureFiles();
      t.type(SKYLAKE_HOST);
      t.keys("Enter");
      await t.waitFor("Which profile?");
      t.keys("Down");
      await t.waitFor("● An embedded profile");
      t.keys("Enter");
      await t.waitFor("Embedded profile");
      t.type("skylake");
      await t.waitFor("● skylake");
      t.keys("Enter");
      await t.waitFor("Write the profile to");
      t.type("keep.json"); // relative to the working directory
      t.keys("Enter");
      await t.waitFor("keep.json exists. Overwrite it?");
      t.keys("n");
      await t.waitFor(/Write the profile to[\s\S]*Write the profile to/); // asked again
      t.keys("Escape");
      await t.waitFor("cancelled");
      expect(await t.exitCode()).toBe(130);
      expect(readFileSync(existing, "utf8")).toBe("precious\n");
      expect(readdirSync(dir)).toEqual(["keep.json"]);
    }, 15_000);

    /** Capture files -> the Skylake capture -> an embedded profile: the list is open. */
    async function toEmbeddedList(t: Term, capture = SKYLAKE_HOST): Promise<string> {
      await t.chooseCaptureFiles();
      t.type(capture);
      t.keys("Enter");
      await t.waitFor("Which profile?");
      t.keys("Down");
      await t.waitFor("● An embedded profile");
      t.keys("Enter");
      return t.waitFor("Embedded profile");
    }

    test("the profile list opens on a compatible profile and shows compatibility on every row", async () => {
      const t = new Term(tempDir());
      const pane = await toEmbeddedList(t);
      const list = await t.waitFor("● skylake"); // focused without typing: it runs on the capture
      for (const name of [
        "cascade-lake",
        "epyc-genoa",
        "epyc-milan",
        "granite-rapids",
        "host",
        "ice-lake",
        "sapphire-rapids",
        "skylake",
      ]) {
        const row = list.split("\n").find((l) => new RegExp(`[●○] ${name}\\b`).test(l));
        expect(row ?? `no row for ${name}:\n${pane}`).toMatch(
          /compatible with the capture|INCOMPATIBLE with the capture/,
        );
      }
      expect(list).toMatch(/epyc-genoa.*INCOMPATIBLE with the capture \(other vendor\)/);
      expect(list).toMatch(/skylake.*intel: compatible with the capture/);
      t.keys("C-c");
      expect(await t.exitCode()).toBe(130);
    }, 20_000);

    test("captures of two vendors are refused at the file prompt, before a name is asked", async () => {
      const dir = tempDir();
      const t = new Term(dir);
      await t.chooseCaptureFiles();
      t.type(`${SKYLAKE_HOST} ${GENOA_HOST}`);
      t.keys("Enter");
      const pane = await t.waitFor("captures of two vendors");
      expect(pane).not.toContain("Profile name");
      expect(pane).not.toContain("Which profile?");
      t.keys("C-c");
      expect(await t.exitCode()).toBe(130);
      expect(readdirSync(dir)).toEqual([]);
    }, 20_000);

    test("an incompatible result offers to go back instead of writing, listing each problem once without doubled names", async () => {
      const dir = tempDir();
      const t = new Term(dir);
      await toEmbeddedList(t);
      t.type("sapphire-rapids");
      await t.waitFor("● sapphire-rapids");
      t.keys("Enter");
      const pane = await t.waitFor("What now?");
      expect(pane).toContain("sapphire-rapids on fingerprint_INTEL_SKYLAKE_6.1host.json: INCOMPATIBLE");
      expect(pane).toContain("● Go back and choose another profile");
      const problems = pane.split("\n").filter((l) => /feature-missing: /.test(l));
      expect(problems.length).toBeGreaterThan(0);
      expect(new Set(problems).size).toBe(problems.length);
      for (const l of problems) expect(l).not.toMatch(/feature-missing: ([\w.]+): \1\b/);
      t.keys("Enter");
      await t.waitFor(/What now\?[\s\S]*Which profile\?/);
      t.keys("C-c");
      expect(await t.exitCode()).toBe(130);
      expect(readdirSync(dir)).toEqual([]);
    }, 20_000);

    test("paths may contain spaces; it ends 'Done.' only with exit 0, and the commands it suggests run", async () => {
      const dir = tempDir();
      mkdirSync(join(dir, "my hosts"));
      const capture = join(dir, "my hosts", "sky lake.json");
      copyFileSync(SKYLAKE_HOST, capture);
      const t = new Term(dir);
      await toEmbeddedList(t, capture);
      await t.waitFor("● skylake");
      t.keys("Enter");
      await t.waitFor("Write the profile to");
      t.type("my profile.json");
      t.keys("Enter");
      await t.waitFor("Wrote my profile.json");
      const next = await t.waitFor(/Verify it on this host|Done\.|was written, but/, 20_000);
      if (next.includes("Verify it on this host")) t.keys("y");
      const code = await t.exitCode(30_000); // a guest check on a loaded machine
      const pane = t.pane();
      if (code === 0) expect(pane).toContain("Done.");
      else expect(pane).not.toContain("Done.");
      expect(existsSync(join(dir, "my profile.json"))).toBe(true);
      const suggested = [...pane.matchAll(/\$ (cpuprof .*?)\s*$/gm)].map((m) => m[1]!);
      expect(suggested).toContain("cpuprof show 'my profile.json'");
      for (const cmd of suggested) {
        const r = spawnSync("bash", ["-c", cmd.replace(/^cpuprof /, `${quote(BUN)} ${quote(MAIN)} `)], {
          cwd: dir,
          encoding: "utf8",
        });
        expect(`${cmd}: exit ${r.status} ${r.stderr}`).toBe(`${cmd}: exit 0 `);
      }
    }, 60_000);
  },
);
