// Output is never half-written: writeFileAtomic goes through a temporary file in the same
// directory and a rename, so a failing write leaves the previous file as it was and no temporary
// file behind; a cpuprof interrupted with SIGINT while writing leaves the target absent or complete.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { isTerminal, writeFileAtomic } from "../../src/cli/io.ts";
import { fixturesMissing } from "../helpers/fixtures.ts";
import { thrown } from "../helpers/thrown.ts";
import { fixtureHost } from "./run.ts";
import { InputError } from "../../src/errors.ts";

const REPO = resolve(import.meta.dir, "../..");
const BUN = join(REPO, "node_modules/.bin/bun");

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "cpuprof-io-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const temps = (d: string) => readdirSync(d).filter((f) => f.includes(".cpuprof-") || f.endsWith(".tmp"));

/** A JSON payload of about `bytes` bytes, so a complete file is recognisable. */
function payload(bytes: number): string {
  const line = '  "0123456789abcdef0123456789abcdef",\n';
  return "[\n" + line.repeat(Math.ceil(bytes / line.length)) + '  "end"\n]\n';
}


describe("writeFileAtomic", () => {
  test("a write failing after the first chunk leaves the previous file untouched and no temporary file", () => {
    const target = join(dir, "out.json");
    writeFileSync(target, "previous\n");
    const data = payload(300 * 1024);
    expect(data.length).toBeGreaterThan(64 * 1024 * 2);
    const chunks: number[] = [];
    const e = thrown(() =>
      writeFileAtomic(target, data, {
        afterChunk: (written) => {
          chunks.push(written);
          // mid-write, the target still holds the previous content, and the temporary file is next to it
          expect(readFileSync(target, "utf8")).toBe("previous\n");
          expect(temps(dir).length).toBe(1);
          throw new Error("ENOSPC: no space left on device, write");
        },
      }),
    );
    expect(chunks).toEqual([64 * 1024]);
    expect(e).toBeInstanceOf(InputError);
    expect((e as InputError).exitCode).toBe(2);
    expect((e as Error).message).toContain(target);
    expect((e as Error).message).not.toContain("\n");
    expect(readFileSync(target, "utf8")).toBe("previous\n");
    expect(temps(dir)).toEqual([]);
    expect(readdirSync(dir)).toEqual(["out.json"]);
  });

  test("a failing write of a new file leaves nothing at all", () => {
    const target = join(dir, "new.json");
    thrown(() => writeFileAtomic(target, payload(200 * 1024), { afterChunk: () => { throw new Error("EIO"); } }));
    expect(readdirSync(dir)).toEqual([]);
  });

  test("success replaces the file by a rename: new inode, full content, no temporary file", () => {
    const target = join(dir, "out.json");
    writeFileSync(target, "previous\n");
    const before = statSync(target).ino;
    const data = payload(200 * 1024);
    let chunks = 0;
    writeFileAtomic(target, data, { afterChunk: () => void chunks++ });
    expect(chunks).toBe(Math.ceil(new TextEncoder().encode(data).byteLength / (64 * 1024)));
    expect(readFileSync(target, "utf8")).toBe(data);
    expect(statSync(target).ino).not.toBe(before);
    expect(temps(dir)).toEqual([]);
    // bytes as well as strings
    writeFileAtomic(target, new Uint8Array([1, 2, 3]));
    expect([...readFileSync(target)]).toEqual([1, 2, 3]);
    // and an empty payload
    writeFileAtomic(target, "");
    expect(readFileSync(target, "utf8")).toBe("");
    expect(readdirSync(dir)).toEqual(["out.json"]);
  });

  test("refuses a directory path, leaving it and its parent as they were", () => {
    const sub = join(dir, "sub");
    mkdirSync(sub);
    writeFileSync(join(sub, "keep"), "x");
    const e = thrown(() => writeFileAtomic(sub, "data"));
    expect(e).toBeInstanceOf(InputError);
    expect((e as Error).message).toMatch(/directory/);
    expect(statSync(sub).isDirectory()).toBe(true);
    expect(readdirSync(sub)).toEqual(["keep"]);
    expect(readdirSync(dir)).toEqual(["sub"]);
  });

  test("a missing parent directory is one-line bad input", () => {
    const e = thrown(() => writeFileAtomic(join(dir, "no/such/dir/out.json"), "data"));
    expect(e).toBeInstanceOf(InputError);
    expect((e as Error).message).toMatch(/^cannot write .*no\/such\/dir\/out\.json: ENOENT/);
    expect((e as Error).message).not.toContain("\n");
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe("interrupted with SIGINT", () => {
  test("while writeFileAtomic is between chunks: target old or complete, no temporary file", async () => {
    // a child that writes 8 MB slowly (the hook sleeps after every chunk) and says when it started
    const script = join(dir, "slow-writer.ts");
    writeFileSync(
      script,
      `import { writeFileAtomic } from ${JSON.stringify(join(REPO, "src/cli/io.ts"))};
const [target, size] = [process.argv[2], Number(process.argv[3])];
const line = '  "0123456789abcdef0123456789abcdef",\\n';
const data = "[\\n" + line.repeat(Math.ceil(size / line.length)) + '  "end"\\n]\\n';
const sleeper = new Int32Array(new SharedArrayBuffer(4));
writeFileAtomic(target, data, { afterChunk: (n) => { if (n === 65536) process.stdout.write("started\\n"); Atomics.wait(sleeper, 0, 0, 2); } });
process.stdout.write("done\\n");
`,
    );
    const target = join(dir, "out.json");
    writeFileSync(target, "previous\n");
    const proc = Bun.spawn([BUN, script, target, String(8 * 1024 * 1024)], { stdout: "pipe", stderr: "pipe" });
    const reader = proc.stdout.getReader();
    let seen = "";
    while (!seen.includes("started")) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += new TextDecoder().decode(value);
    }
    expect(seen).toContain("started");
    proc.kill("SIGINT");
    const code = await proc.exited;
    const content = readFileSync(target, "utf8");
    // the write loop is synchronous, so the handler runs after it: old content or the complete new file
    if (content !== "previous\n") expect(() => JSON.parse(content)).not.toThrow();
    expect(temps(dir)).toEqual([]);
    expect(code === 0 || code === 130 || proc.signalCode === "SIGINT").toBe(true);
  });

  test("a spawned cpuprof generate -o killed at various moments leaves no partial file", async () => {
    const host = join(dir, "host.json");
    // a cpuprof host capture from the embedded seeds (no /dev/kvm needed)
    const { loadSeeds } = await import("../quality/generators.ts");
    writeFileSync(host, JSON.stringify(loadSeeds().find((s) => s.label === "synthetic:own")!.doc));
    const delays = [5, 25, 45, 60, 75, 90, 110, 140];
    const runs = delays.map(async (delay, i) => {
      const out = join(dir, `out-${i}.json`);
      const proc = Bun.spawn([BUN, join(REPO, "src/cli/main.ts"), "generate", "--name", "soak", "--host", host, "-o", out], {
        stdout: "ignore",
        stderr: "ignore",
      });
      await Bun.sleep(delay);
      proc.kill("SIGINT");
      await proc.exited;
      return out;
    });
    for (const out of await Promise.all(runs)) {
      if (existsSync(out)) expect(JSON.parse(readFileSync(out, "utf8")).format).toBe("cpuprof-profile");
    }
    expect(temps(dir)).toEqual([]);
  });
});

describe("long target names", () => {
  test("a legal 240-character file name is written (the temporary name stays within NAME_MAX)", () => {
    const dir = mkdtempSync(join(tmpdir(), "cpuprof-long-"));
    const target = join(dir, "p".repeat(235) + ".json");
    writeFileAtomic(target, "{}\n");
    expect(readFileSync(target, "utf8")).toBe("{}\n");
    expect(readdirSync(dir)).toEqual(["p".repeat(235) + ".json"]);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe("isTerminal (progress goes to stderr only when it is a terminal)", () => {
  test("a pipe, a regular file and /dev/null are not terminals", () => {
    const file = join(dir, "out.txt");
    writeFileSync(file, "");
    const fileFd = openSync(file, "r");
    const nullFd = openSync("/dev/null", "w");
    try {
      expect(isTerminal(fileFd)).toBe(false);
      expect(isTerminal(nullFd)).toBe(false);
      expect(isTerminal(987654)).toBe(false); // not open at all
    } finally {
      closeSync(fileFd);
      closeSync(nullFd);
    }
    // Under bun test, stdout is a pipe to the runner or a file; a child's piped stderr certainly is not a terminal.
    const child = Bun.spawnSync([BUN, "-e", `const { isTerminal } = require(${JSON.stringify(join(REPO, "src/cli/io.ts"))}); process.exit(isTerminal(2) ? 1 : 0)`], {
      stderr: "pipe",
    });
    expect(child.exitCode).toBe(0);
  });

  const SCRIPT = "/usr/bin/script";
  test.skipIf(!existsSync(SCRIPT) || fixturesMissing !== undefined)(
    `a pseudo-terminal is one: verify shows progress there and not in a pipe${!existsSync(SCRIPT) ? ` (skipped: no ${SCRIPT})` : fixturesMissing ? ` (skipped: ${fixturesMissing})` : ""}`,
    () => {
      const args = [join(REPO, "src/cli/main.ts"), "verify", "skylake", "--host", fixtureHost("INTEL_SKYLAKE")];
      const piped = Bun.spawnSync([BUN, ...args], { stdout: "pipe", stderr: "pipe" });
      expect(piped.exitCode).toBe(0);
      expect(piped.stderr.toString()).not.toContain("verifying");
      // script(1) runs the command on a new pseudo-terminal and copies what it writes to our pipe.
      const command = [BUN, ...args].map((a) => `'${a}'`).join(" ");
      const tty = Bun.spawnSync([SCRIPT, "-qec", command, "/dev/null"], { stdout: "pipe", stderr: "pipe" });
      expect(tty.exitCode).toBe(0);
      expect(tty.stdout.toString()).toContain("verifying skylake (1/1)");
      expect(tty.stdout.toString()).toContain("every check held");
    },
  );
});
