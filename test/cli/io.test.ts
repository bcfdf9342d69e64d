// Output is never half-written: writeOutput goes through a temporary file in the same directory
// and a rename, so a failing write leaves the previous file as it was and no temporary file
// behind; a cpuprof interrupted with SIGINT, SIGTERM or SIGHUP while writing exits 130 and leaves
// the previous file.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { emit, errnoText, isTerminal, settleOutputs, writeOutput } from "../../src/cli/io.ts";
import { ERRNO } from "../../src/kvm/index.ts";
import { PosixError } from "../../src/kvm/posix.ts";
import { fixturesMissing } from "../helpers/fixtures.ts";
import { fixtureHost } from "./run.ts";
import { OutputError } from "../../src/errors.ts";

const REPO = resolve(import.meta.dir, "../..");
const BUN = join(REPO, "node_modules/.bin/bun");

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "cpuprof-io-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const temps = (d: string) => readdirSync(d).filter((f) => f.includes(".cpuprof-"));

/** What an async `fn` rejects with; fails the test when it resolves. */
async function rejected(fn: () => Promise<unknown>): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a rejection");
}

/** A JSON payload of about `bytes` bytes, so a complete file is recognisable. */
function payload(bytes: number): string {
  const line = '  "0123456789abcdef0123456789abcdef",\n';
  return `[\n${line.repeat(Math.ceil(bytes / line.length))}  "end"\n]\n`;
}

describe("writeOutput to a regular file", () => {
  test("a write failing after the first chunk leaves the previous file untouched and no temporary file", async () => {
    const target = join(dir, "out.json");
    writeFileSync(target, "previous\n");
    const data = payload(300 * 1024);
    expect(data.length).toBeGreaterThan(64 * 1024 * 2);
    const chunks: number[] = [];
    const e = await rejected(() =>
      writeOutput(target, data, {
        afterChunk: (written: number) => {
          chunks.push(written);
          // mid-write, the target still holds the previous content, and the temporary file is next to it
          expect(readFileSync(target, "utf8")).toBe("previous\n");
          expect(temps(dir).length).toBe(1);
          throw new Error("ENOSPC: no space left on device, write");
        },
      }),
    );
    expect(chunks).toEqual([64 * 1024]);
    expect(e).toBeInstanceOf(OutputError);
    expect((e as OutputError).exitCode).toBe(4);
    expect((e as Error).message).toContain(target);
    expect((e as Error).message).not.toContain("\n");
    expect(readFileSync(target, "utf8")).toBe("previous\n");
    expect(temps(dir)).toEqual([]);
    expect(readdirSync(dir)).toEqual(["out.json"]);
  });

  test("a failing write of a new file leaves nothing at all", async () => {
    const target = join(dir, "new.json");
    await rejected(() =>
      writeOutput(target, payload(200 * 1024), {
        afterChunk: () => {
          throw new Error("EIO");
        },
      }),
    );
    expect(readdirSync(dir)).toEqual([]);
  });

  test("success replaces the file by a rename: new inode, full content, no temporary file", async () => {
    const target = join(dir, "out.json");
    writeFileSync(target, "previous\n");
    const before = statSync(target).ino;
    const data = payload(200 * 1024);
    let chunks = 0;
    await writeOutput(target, data, { afterChunk: () => void chunks++ });
    expect(chunks).toBe(Math.ceil(new TextEncoder().encode(data).byteLength / (64 * 1024)));
    expect(readFileSync(target, "utf8")).toBe(data);
    expect(statSync(target).ino).not.toBe(before);
    expect(temps(dir)).toEqual([]);
    // bytes as well as strings
    await writeOutput(target, new Uint8Array([1, 2, 3]));
    expect([...readFileSync(target)]).toEqual([1, 2, 3]);
    // and an empty payload
    await writeOutput(target, "");
    expect(readFileSync(target, "utf8")).toBe("");
    expect(readdirSync(dir)).toEqual(["out.json"]);
  });

  test("refuses a directory path, leaving it and its parent as they were", async () => {
    const sub = join(dir, "sub");
    mkdirSync(sub);
    writeFileSync(join(sub, "keep"), "x");
    const e = await rejected(() => writeOutput(sub, "data"));
    expect(e).toBeInstanceOf(OutputError);
    expect((e as Error).message).toMatch(/directory/);
    expect(statSync(sub).isDirectory()).toBe(true);
    expect(readdirSync(sub)).toEqual(["keep"]);
    expect(readdirSync(dir)).toEqual(["sub"]);
  });

  test("a missing parent directory is one line and the output exit code (4)", async () => {
    const e = await rejected(() => writeOutput(join(dir, "no/such/dir/out.json"), "data"));
    expect(e).toBeInstanceOf(OutputError);
    expect((e as Error).message).toMatch(/^cannot write .*no\/such\/dir\/out\.json: no such file or directory$/);
    expect((e as Error).message).not.toContain("\n");
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe("writes a command did not await", () => {
  test("settleOutputs (which main calls after every command) waits for them and reports their failure", async () => {
    const target = join(dir, "late.json");
    void emit("complete\n", target);
    expect(existsSync(target)).toBe(false); // still before its rename
    await settleOutputs();
    expect(readFileSync(target, "utf8")).toBe("complete\n");
    void emit("x", join(dir, "no/such/dir/f.json"));
    const e = await rejected(() => settleOutputs());
    expect(e).toBeInstanceOf(OutputError);
    await settleOutputs(); // reported once
  });
});

describe("interrupted with SIGINT", () => {
  test("while writeOutput is between chunks: target old or complete, no temporary file", async () => {
    // a child that writes 8 MB slowly (the hook sleeps after every chunk) and says when it started
    const script = join(dir, "slow-writer.ts");
    writeFileSync(
      script,
      `import { writeOutput } from ${JSON.stringify(join(REPO, "src/cli/io.ts"))};
const [target, size] = [process.argv[2], Number(process.argv[3])];
const line = '  "0123456789abcdef0123456789abcdef",\\n';
const data = "[\\n" + line.repeat(Math.ceil(size / line.length)) + '  "end"\\n]\\n';
const sleeper = new Int32Array(new SharedArrayBuffer(4));
await writeOutput(target, data, { afterChunk: (n) => { if (n === 65536) process.stdout.write("started\\n"); Atomics.wait(sleeper, 0, 0, 2); } });
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
    // the write loop is synchronous; the handler runs at the check before the rename: nothing committed
    expect(readFileSync(target, "utf8")).toBe("previous\n");
    expect(temps(dir)).toEqual([]);
    expect(code).toBe(130);
  });

  test("a spawned cpuprof generate -o killed at various moments leaves no partial file", async () => {
    const host = join(dir, "host.json");
    // a cpuprof host capture from the embedded seeds (no /dev/kvm needed)
    const { loadSeeds } = await import("../quality/generators.ts");
    writeFileSync(host, JSON.stringify(loadSeeds().find((s) => s.label === "synthetic:own")!.doc));
    const delays = [5, 25, 45, 60, 75, 90, 110, 140];
    const runs = delays.map(async (delay, i) => {
      const out = join(dir, `out-${i}.json`);
      const proc = Bun.spawn(
        [BUN, join(REPO, "src/cli/main.ts"), "generate", "--name", "soak", "--host", host, "-o", out],
        {
          stdout: "ignore",
          stderr: "ignore",
        },
      );
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
  test("a legal 240-character file name is written (the temporary name stays within NAME_MAX)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cpuprof-long-"));
    const target = join(dir, `${"p".repeat(235)}.json`);
    await writeOutput(target, "{}\n");
    expect(readFileSync(target, "utf8")).toBe("{}\n");
    expect(readdirSync(dir)).toEqual([`${"p".repeat(235)}.json`]);
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
    const child = Bun.spawnSync(
      [
        BUN,
        "-e",
        `const { isTerminal } = require(${JSON.stringify(join(REPO, "src/cli/io.ts"))}); process.exit(isTerminal(2) ? 1 : 0)`,
      ],
      {
        stderr: "pipe",
      },
    );
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

describe("write errors through libc read as node's did", () => {
  test("every errno a write or an open can end in is named in the user's words, as node:fs's errors were", () => {
    // PosixError (the libc write loop) and node:fs's errors carry the errno's name as `code`: the same words.
    for (const [code, words] of [
      ["ENOSPC", "no space left on device"],
      ["EDQUOT", "disk quota exceeded"],
      ["EFBIG", "file too large"],
      ["EIO", "input/output error"],
      ["EPIPE", "the reader went away"],
      ["EROFS", "read-only file system"],
      ["ETXTBSY", "text file busy"],
      ["ELOOP", "too many symbolic links"],
      ["ENAMETOOLONG", "file name too long"],
    ] as const) {
      expect(errnoText(new PosixError("write", ERRNO[code]))).toBe(words);
      expect(errnoText(Object.assign(new Error(`${code}: something, write`), { code }))).toBe(words);
    }
  });
});
