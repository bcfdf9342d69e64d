// The one output path as a user meets it: `-o -`, symlinks, modes and owners, FIFOs and devices
// (written through, never replaced), /dev/full, signals during a write, stale temporary files,
// and `export chv`'s two files replaced together or not at all.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { writeOutputs } from "../../src/cli/io.ts";
import { OutputError } from "../../src/errors.ts";
import { cpuprof } from "./run.ts";

const REPO = resolve(import.meta.dir, "../..");
const BUN = join(REPO, "node_modules/.bin/bun");
const MAIN = join(REPO, "src/cli/main.ts");
const isRoot = process.getuid?.() === 0;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "cpuprof-out-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const temps = (d: string) => readdirSync(d).filter((f) => f.includes(".cpuprof-"));

function runShell(script: string): { code: number; stdout: string; stderr: string } {
  const p = Bun.spawnSync(["sh", "-c", script], { stdout: "pipe", stderr: "pipe", env: { ...process.env, BUN, MAIN } });
  return { code: p.exitCode ?? -1, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
}

describe("-o targets", () => {
  test("-o - writes to stdout", () => {
    const r = cpuprof(["schema", "profile", "-o", "-"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).$schema).toContain("json-schema");
    expect(existsSync(join(REPO, "-"))).toBe(false);
  });

  test("a symlink stays a link: its target is replaced, atomically", () => {
    const target = join(dir, "real.json");
    const link = join(dir, "link.json");
    writeFileSync(target, "old\n");
    symlinkSync("real.json", link);
    const r = cpuprof(["schema", "profile", "-o", link]);
    expect(r.code).toBe(0);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe("real.json");
    expect(JSON.parse(readFileSync(target, "utf8")).title).toBeDefined();
    expect(temps(dir)).toEqual([]);
  });

  test("a dangling symlink stays a link and its target is created", () => {
    const link = join(dir, "link.json");
    mkdirSync(join(dir, "sub"));
    symlinkSync("sub/new.json", link);
    expect(cpuprof(["schema", "host", "-o", link]).code).toBe(0);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(JSON.parse(readFileSync(join(dir, "sub/new.json"), "utf8"))).toBeDefined();
  });

  test("an existing file keeps its mode (0600)", () => {
    const target = join(dir, "secret.json");
    writeFileSync(target, "old\n");
    chmodSync(target, 0o600);
    expect(cpuprof(["schema", "profile", "-o", target]).code).toBe(0);
    expect(statSync(target).mode & 0o7777).toBe(0o600);
    expect(readFileSync(target, "utf8")).not.toBe("old\n");
  });

  test.skipIf(!isRoot)(
    `run as root, an existing file keeps its owner and group${isRoot ? "" : " (skipped: not root)"}`,
    () => {
      const target = join(dir, "owned.json");
      writeFileSync(target, "old\n");
      chownSync(target, 1234, 2345);
      chmodSync(target, 0o640);
      expect(cpuprof(["schema", "profile", "-o", target]).code).toBe(0);
      const st = statSync(target);
      expect([st.uid, st.gid, st.mode & 0o7777]).toEqual([1234, 2345, 0o640]);
    },
  );

  test("a FIFO is written straight through and stays a FIFO", async () => {
    const fifo = join(dir, "pipe");
    expect(Bun.spawnSync(["mkfifo", fifo]).exitCode).toBe(0);
    const reader = Bun.spawn(["cat", fifo], { stdout: "pipe" });
    const writer = Bun.spawn([BUN, MAIN, "schema", "profile", "-o", fifo], { stdout: "pipe", stderr: "pipe" });
    const [text, code] = await Promise.all([new Response(reader.stdout).text(), writer.exited]);
    expect(code).toBe(0);
    expect(JSON.parse(text).title).toBeDefined();
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    expect(readdirSync(dir)).toEqual(["pipe"]);
  });

  test("-o /dev/stdout writes to the descriptor as the shell opened it: `>>` appends, nothing is truncated", () => {
    const log = join(dir, "log.txt");
    writeFileSync(log, "first line\n");
    const r = runShell(
      `"$BUN" "$MAIN" schema host -o /dev/stdout >> "${log}" && "$BUN" "$MAIN" schema host -o /dev/fd/1 >> "${log}"`,
    );
    expect(r.code).toBe(0);
    const text = readFileSync(log, "utf8");
    expect(text.startsWith("first line\n{")).toBe(true);
    expect(text.split('"$schema"').length - 1).toBe(2);
    expect(lstatSync(log).isFile()).toBe(true);
  });

  test("/dev/full: stdout and -o both end in one line and exit 4", () => {
    const viaStdout = runShell(`"$BUN" "$MAIN" show skylake > /dev/full`);
    expect(viaStdout.code).toBe(4);
    expect(viaStdout.stderr).toBe("cpuprof: cannot write to standard output: no space left on device\n");
    const viaO = cpuprof(["schema", "profile", "-o", "/dev/full"]);
    expect(viaO.code).toBe(4);
    expect(viaO.stderr).toBe("cpuprof: cannot write /dev/full: no space left on device\n");
    expect(lstatSync("/dev/full").isCharacterDevice()).toBe(true);
  });

  test("a directory target is one line and exit 4, leaving the directory", () => {
    mkdirSync(join(dir, "d"));
    const r = cpuprof(["schema", "profile", "-o", join(dir, "d")]);
    expect(r.code).toBe(4);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(statSync(join(dir, "d")).isDirectory()).toBe(true);
  });
});

// /dev/null and /dev/stdout of the machine must never be at risk: the test runs cpuprof as root in a
// private mount namespace with its own tmpfs on /dev, holding a real null device node and the usual links.
const unshareProblem = (() => {
  if (!isRoot) return "not root";
  const p = Bun.spawnSync(
    [
      "unshare",
      "-m",
      "--propagation",
      "private",
      "sh",
      "-c",
      "mount -t tmpfs none /mnt 2>/dev/null || mount -t tmpfs none /tmp",
    ],
    { stderr: "pipe" },
  );
  return p.exitCode === 0
    ? undefined
    : `unshare -m with a tmpfs not permitted: ${p.stderr.toString().trim().split("\n")[0]}`;
})();

describe("devices inside a private mount namespace", () => {
  test.skipIf(unshareProblem !== undefined)(
    `/dev/null and /dev/stdout stay what they were${unshareProblem ? ` (skipped: ${unshareProblem})` : ""}`,
    () => {
      const out = join(dir, "captured.json");
      const script = `set -e
mount -t tmpfs none /dev
mknod -m 666 /dev/null c 1 3
mknod -m 666 /dev/zero c 1 5
mknod -m 666 /dev/urandom c 1 9
mknod -m 666 /dev/random c 1 8
ln -s /proc/self/fd /dev/fd
ln -s /proc/self/fd/0 /dev/stdin
ln -s /proc/self/fd/1 /dev/stdout
ln -s /proc/self/fd/2 /dev/stderr
"$BUN" "$MAIN" schema profile -o /dev/null; echo "null-exit=$?"
stat -c 'null=%F %t:%T' /dev/null
"$BUN" "$MAIN" schema profile -o /dev/stdout > "${out}"; echo "stdout-exit=$?"
stat -c 'stdout=%F' /dev/stdout
ls -a /dev | tr '\\n' ' '; echo`;
      const r = Bun.spawnSync(["unshare", "-m", "--propagation", "private", "sh", "-c", script], {
        stdout: "pipe",
        stderr: "pipe",
        env: { ...process.env, BUN, MAIN },
      });
      const text = r.stdout.toString();
      expect(r.stderr.toString()).toBe("");
      expect(text).toContain("null-exit=0");
      expect(text).toContain("null=character special file 1:3");
      expect(text).toContain("stdout-exit=0");
      expect(text).toContain("stdout=symbolic link");
      expect(text).not.toContain(".cpuprof-tmp");
      // through /dev/stdout, into the shell's redirection
      expect(JSON.parse(readFileSync(out, "utf8")).title).toBeDefined();
    },
  );
});

describe("signals during a write", () => {
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const)
    test(`${signal} while -o is being written: exit 130, the old file intact, no temporary file`, async () => {
      const target = join(dir, "out.json");
      writeFileSync(target, "previous\n");
      // The test hook holds the write after the temporary file is complete, before the rename.
      const proc = Bun.spawn([BUN, MAIN, "schema", "profile", "-o", target], {
        stdout: "pipe",
        stderr: "pipe",
        env: { ...process.env, CPUPROF_TEST_PAUSE_BEFORE_COMMIT_MS: "5000" },
      });
      const started = performance.now();
      while (temps(dir).length === 0 && performance.now() - started < 10_000) await Bun.sleep(5);
      expect(temps(dir)).toHaveLength(1);
      proc.kill(signal);
      expect(await proc.exited).toBe(130);
      expect(performance.now() - started).toBeLessThan(4_000);
      expect(readFileSync(target, "utf8")).toBe("previous\n");
      expect(temps(dir)).toEqual([]);
    });

  test("a temporary file left by a run killed with SIGKILL is removed by the next write to the same target", async () => {
    const target = join(dir, "out.json");
    writeFileSync(target, "previous\n");
    const proc = Bun.spawn([BUN, MAIN, "schema", "profile", "-o", target], {
      stdout: "pipe",
      stderr: "pipe",
      env: { ...process.env, CPUPROF_TEST_PAUSE_BEFORE_COMMIT_MS: "5000" },
    });
    const started = performance.now();
    while (temps(dir).length === 0 && performance.now() - started < 10_000) await Bun.sleep(5);
    proc.kill("SIGKILL");
    await proc.exited;
    const stale = temps(dir);
    expect(stale).toHaveLength(1);
    expect(stale[0]).toMatch(/^\.out\.json\.cpuprof-tmp\.\d+\.[a-z0-9]+$/);
    expect(readFileSync(target, "utf8")).toBe("previous\n");
    // another target's write leaves it; the next write to this target removes it
    expect(cpuprof(["schema", "host", "-o", join(dir, "other.json")]).code).toBe(0);
    expect(temps(dir)).toEqual(stale);
    expect(cpuprof(["schema", "profile", "-o", target]).code).toBe(0);
    expect(temps(dir)).toEqual([]);
    expect(JSON.parse(readFileSync(target, "utf8")).title).toBeDefined();
  });
});

describe("export chv: both files or neither", () => {
  test("when the second file cannot be written, the first keeps its old content (exit 4)", () => {
    const out = join(dir, "chv");
    mkdirSync(out);
    writeFileSync(join(out, "skylake.cpuid.json"), "old cpuid\n");
    mkdirSync(join(out, "skylake.msr.json")); // cannot be replaced by a file
    const r = cpuprof(["export", "chv", "skylake", out]);
    expect(r.code).toBe(4);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("skylake.msr.json");
    expect(readFileSync(join(out, "skylake.cpuid.json"), "utf8")).toBe("old cpuid\n");
    expect(temps(out)).toEqual([]);
  });

  test("a write failing in the second file (e.g. ENOSPC) leaves both old files and no temporary file", async () => {
    const a = join(dir, "p.cpuid.json");
    const b = join(dir, "p.msr.json");
    writeFileSync(a, "old a\n");
    writeFileSync(b, "old b\n");
    let files = 0;
    let error: unknown;
    try {
      await writeOutputs(
        [
          { path: a, data: "new a\n" },
          { path: b, data: "new b\n" },
        ],
        {
          afterChunk: () => {
            if (++files === 2) throw Object.assign(new Error("no space"), { code: "ENOSPC", syscall: "write" });
          },
        },
      );
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(OutputError);
    expect((error as Error).message).toBe(`cannot write ${b}: no space left on device`);
    expect(readFileSync(a, "utf8")).toBe("old a\n");
    expect(readFileSync(b, "utf8")).toBe("old b\n");
    expect(readdirSync(dir).sort()).toEqual(["p.cpuid.json", "p.msr.json"]);
  });

  test("success replaces both, with no temporary or backup file left", async () => {
    const out = join(dir, "chv");
    mkdirSync(out);
    writeFileSync(join(out, "skylake.cpuid.json"), "old\n");
    writeFileSync(join(out, "skylake.msr.json"), "old\n");
    const r = cpuprof(["export", "chv", "skylake", out]);
    expect(r.code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(["skylake.cpuid.json", "skylake.msr.json"]);
    expect(readFileSync(join(out, "skylake.msr.json"), "utf8")).not.toBe("old\n");
  });
});

const STRACE = ["/usr/bin/strace", "/bin/strace"].find((p) => existsSync(p));
describe("durability", () => {
  test.skipIf(STRACE === undefined)(
    `the temporary file is fsynced before the rename and the directory after it${STRACE ? "" : " (skipped: no strace)"}`,
    () => {
      const target = join(dir, "d.json");
      const log = join(dir, "strace.log");
      const p = Bun.spawnSync(
        [
          STRACE!,
          "-f",
          "-e",
          "trace=openat,fsync,rename,renameat,renameat2",
          "-o",
          log,
          BUN,
          MAIN,
          "schema",
          "profile",
          "-o",
          target,
        ],
        {
          stdout: "ignore",
          stderr: "pipe",
        },
      );
      expect(p.exitCode).toBe(0);
      const lines = readFileSync(log, "utf8")
        .split("\n")
        .map((l) => l.replace(/^\d+ +/, ""));
      const tempOpen = lines.findIndex((l) => l.includes(".d.json.cpuprof-tmp.") && l.startsWith("openat("));
      const tempFd = /= (\d+)$/.exec(lines[tempOpen]!)![1];
      const rename = lines.findIndex((l) => /^rename(at2?)?\(.*\.d\.json\.cpuprof-tmp\..*d\.json"/.test(l));
      expect(tempOpen).toBeGreaterThanOrEqual(0);
      expect(rename).toBeGreaterThan(tempOpen);
      expect(lines.slice(tempOpen, rename).some((l) => l.startsWith(`fsync(${tempFd})`))).toBe(true);
      const after = lines.slice(rename);
      const dirOpen = after.findIndex((l) => l.startsWith(`openat(AT_FDCWD, "${dir}", O_RDONLY`));
      expect(dirOpen).toBeGreaterThan(0);
      const dirFd = /= (\d+)$/.exec(after[dirOpen]!)![1];
      expect(after.slice(dirOpen).some((l) => l.startsWith(`fsync(${dirFd})`))).toBe(true);
    },
  );
});

describe("documentation", () => {
  test("the README's exit-code table and every --help list each code cpuprof exits with", () => {
    const readme = readFileSync(join(REPO, "README.md"), "utf8");
    const table = readme.slice(readme.indexOf("## Exit codes"), readme.indexOf("## Input and output files"));
    for (const code of [0, 1, 2, 3, 4, 70, 130]) expect(table).toContain(`| ${code} |`);
    expect(table).toContain("SIGINT, SIGTERM or SIGHUP");
    expect(readme).toContain("`.NAME.cpuprof-tmp.PID.RANDOM`");
    const help = cpuprof(["schema", "--help"]).stdout;
    for (const code of ["0", "1", "2", "3", "4", "130"]) expect(help).toMatch(new RegExp(`^  ${code}  `, "m"));
  });
});

describe("exit", () => {
  test("output larger than a pipe holds reaches a slow reader whole before the process exits (the exit skips the runtime's shutdown)", async () => {
    // 86 KB: more than the 64 KiB pipe buffer, so the writer blocks until the reader, which starts late, drains it.
    const proc = Bun.spawn([BUN, MAIN, "diff", "skylake", "epyc-milan", "--all", "--json"], {
      stdout: "pipe",
      stderr: "pipe",
    });
    await Bun.sleep(300);
    const [text, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
    expect(text.length).toBeGreaterThan(65536);
    expect(() => JSON.parse(text)).not.toThrow();
    expect(code === 0 || code === 1).toBe(true);
  });

  test("-o FILE: the exit handler's work is done (no temporary file), and --version's console line is flushed", () => {
    const target = join(dir, "p.json");
    expect(cpuprof(["schema", "profile", "-o", target]).code).toBe(0);
    expect(JSON.parse(readFileSync(target, "utf8")).title).toBe("cpuprof CPU profile");
    expect(temps(dir)).toEqual([]);
    const v = runShell(`"$BUN" "$MAIN" --version | cat`);
    expect(v.stdout).toMatch(/^cpuprof \d+\.\d+\.\d+\n$/);
  });
});
