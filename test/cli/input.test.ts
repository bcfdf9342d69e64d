// The one input path as a user meets it: `-` for stdin in pipelines, one 8 MiB cap for files,
// pipes and devices alike (bounded time and memory), UTF-8 required, duplicate keys refused with
// their JSON path, validation that stops at the first issue.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { embeddedProfile } from "../../src/embedded/profiles.ts";
import { serializeProfile } from "../../src/model/profile.ts";
import { fixturesMissing } from "../helpers/fixtures.ts";
import { cpuprof, fixtureHost } from "./run.ts";

const REPO = resolve(import.meta.dir, "../..");
const BUN = join(REPO, "node_modules/.bin/bun");
const MAIN = join(REPO, "src/cli/main.ts");

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "cpuprof-in-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function sh(script: string): { code: number; stdout: string; stderr: string; ms: number } {
  const started = performance.now();
  const p = Bun.spawnSync(["sh", "-c", script], {
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, BUN, MAIN, MEASURED, CPUPROF_DEBUG: "" },
  });
  return {
    code: p.exitCode ?? -1,
    stdout: p.stdout.toString(),
    stderr: p.stderr.toString(),
    ms: performance.now() - started,
  };
}

// Peak memory of one command line: the CLI's runCli in a fresh process that reports its own VmHWM
// (peak resident set of this process image) on stderr when it exits. rusage's maxrss would count the
// test runner's memory, which the child inherits across fork and exec.
const MEASURED = join(REPO, "test/cli/measured-main.ts");

function peakMb(stderr: string): { mb: number; rest: string } {
  const m = /^VmHWM: (\d+) kB\n/m.exec(stderr);
  if (!m) throw new Error(`no VmHWM line in ${JSON.stringify(stderr)}`);
  return { mb: Number(m[1]) / 1024, rest: stderr.replace(m[0], "") };
}

const skylakeJson = () => serializeProfile(embeddedProfile("skylake")!);

describe("stdin", () => {
  test("cat f | cpuprof show - reads the profile from stdin", () => {
    const file = join(dir, "p.json");
    writeFileSync(file, skylakeJson());
    const r = sh(`cat "${file}" | "$BUN" "$MAIN" show -`);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^name +skylake$/m);
  });

  test.skipIf(fixturesMissing !== undefined)(
    `cat f | cpuprof host --from - (and errors call it stdin)${fixturesMissing ? ` (skipped: ${fixturesMissing})` : ""}`,
    () => {
      const r = sh(`cat "${fixtureHost("INTEL_SKYLAKE")}" | "$BUN" "$MAIN" host --from - --json`);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout).format).toBe("cpuprof-host");
      const bad = sh(`echo '{"format": 1}' | "$BUN" "$MAIN" host --from -`);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/^cpuprof: stdin: \$\.format: /);
    },
  );

  test("every command that reads files takes - and calls it stdin in its errors", () => {
    for (const argv of [
      ["import", "chv", "-", "--name", "x", "--vendor", "intel"],
      ["import", "firecracker", "-", "--name", "x", "--vendor", "intel"],
      ["baseline", "-", "--name", "x"],
      ["matrix", "-"],
      ["diff", "-", "skylake"],
      ["apply", "-", "--host", "-"],
    ]) {
      const r = cpuprof(argv, { stdin: "{}" });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^cpuprof: stdin(: | \('-'\) can be given only once)/);
    }
    // and reads it: a template through export | import
    const template = cpuprof(["export", "firecracker", "skylake"]).stdout;
    const r = cpuprof(["import", "firecracker", "-", "--name", "piped", "--vendor", "intel"], { stdin: template });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).name).toBe("piped");
  });

  test("stdin can be given once", () => {
    const r = cpuprof(["diff", "-", "-"], { stdin: skylakeJson() });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("cpuprof: stdin ('-') can be given only once\n");
  });
});

describe("one 8 MiB cap for every kind of input", () => {
  test("show /dev/zero: exit 2 within 2 s, under 200 MB", () => {
    const r = sh(`"$BUN" "$MEASURED" show /dev/zero`);
    expect(r.code).toBe(2);
    const { mb, rest } = peakMb(r.stderr);
    expect(rest).toBe("cpuprof: /dev/zero: larger than 8388608 bytes (8 MiB)\n");
    expect(r.ms).toBeLessThan(2_000);
    expect(mb).toBeLessThan(200);
  });

  test("an endless pipe on stdin (yes | cpuprof host --from -) ends with exit 2", () => {
    const r = sh(`yes | "$BUN" "$MEASURED" host --from -`);
    expect(r.code).toBe(2);
    const { mb, rest } = peakMb(r.stderr);
    expect(rest).toBe("cpuprof: stdin: larger than 8388608 bytes (8 MiB)\n");
    expect(mb).toBeLessThan(200);
  });

  test("/dev/stdin given as a file is read with the same cap", () => {
    const r = sh(`head -c 9000000 /dev/zero | "$BUN" "$MAIN" show /dev/stdin`);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("cpuprof: /dev/stdin: larger than 8388608 bytes (8 MiB)\n");
  });

  test("a FIFO is read like a file", () => {
    const fifo = join(dir, "fifo");
    const r = sh(
      `mkfifo "${fifo}" && (cat > "${fifo}" <<'EOF'\n${skylakeJson()}EOF\n) & "$BUN" "$MAIN" show "${fifo}" --json`,
    );
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).name).toBe("skylake");
  });

  test("a regular file over the cap is refused before it is read", () => {
    const file = join(dir, "big.json");
    writeFileSync(file, " ".repeat(8 * 1024 * 1024 + 1));
    const r = cpuprof(["show", file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`cpuprof: ${file}: larger than 8388608 bytes (8 MiB)\n`);
  });
});

describe("what a document must be", () => {
  test("invalid UTF-8 is refused naming the byte", () => {
    const file = join(dir, "latin1.json");
    const good = new TextEncoder().encode(skylakeJson());
    const at = good.indexOf(0x22, 200) + 1; // inside a string
    const bytes = new Uint8Array([...good.subarray(0, at), 0xe9, ...good.subarray(at)]);
    writeFileSync(file, bytes);
    const r = cpuprof(["show", file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`cpuprof: ${file}: not valid UTF-8 (at byte ${at})\n`);
  });

  test("a duplicate key is refused naming its JSON path", () => {
    const text = skylakeJson().replace('"leaf": "0x0",', '"leaf": "0x0",\n      "leaf": "0x1",');
    const r = cpuprof(["show", "-"], { stdin: text });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("cpuprof: stdin: $.cpuid[0].leaf: duplicate key (JSON.parse would keep only the last)\n");
  });

  test("an 8 MB array of wrongly typed items: exit 2 naming the first, under 300 MB", () => {
    const doc = JSON.parse(skylakeJson());
    const file = join(dir, "msrs.json");
    const count = Math.floor((8 * 1024 * 1024 - 20_000) / 2);
    writeFileSync(
      file,
      JSON.stringify(doc).replace(/"permittedMsrs":\[[^\]]*\]/, `"permittedMsrs":[${"1,".repeat(count - 1)}1]`),
    );
    const r = sh(`"$BUN" "$MEASURED" show "${file}"`);
    expect(r.code).toBe(2);
    const { mb, rest } = peakMb(r.stderr);
    expect(rest).toBe(`cpuprof: ${file}: $.permittedMsrs[0]: expected string, got 1\n`);
    expect(mb).toBeLessThan(300);
  });
});

describe("arguments", () => {
  test.skipIf(fixturesMissing !== undefined)(
    `--description -h is a description, not a request for help${fixturesMissing ? ` (skipped: ${fixturesMissing})` : ""}`,
    () => {
      const out = join(dir, "g.json");
      const r = cpuprof([
        "generate",
        "--host",
        fixtureHost("INTEL_SKYLAKE"),
        "--name",
        "g",
        "--description",
        "-h",
        "-o",
        out,
      ]);
      expect(r.code).toBe(0);
      expect(r.stdout).not.toContain("Usage:");
      expect(JSON.parse(readFileSync(out, "utf8")).description).toBe("-h");
    },
  );

  test("-h and --help where an option stands still give the help", () => {
    for (const argv of [
      ["show", "-h"],
      ["show", "skylake", "--help"],
      ["generate", "--name", "x", "--bogus", "-h"],
    ]) {
      const r = cpuprof(argv);
      expect(r.code).toBe(0);
      expect(r.stdout).toStartWith(`Usage: cpuprof ${argv[0]}`);
    }
  });

  test("unknown options and missing values get the tool's own one line", () => {
    expect(cpuprof(["show", "skylake", "--bogus"]).stderr).toBe(
      "cpuprof: show: unknown option '--bogus' (see 'cpuprof show --help')\n",
    );
    expect(cpuprof(["show", "skylake", "-x"]).stderr).toBe(
      "cpuprof: show: unknown option '-x' (see 'cpuprof show --help')\n",
    );
    expect(cpuprof(["generate", "--name"]).stderr).toBe(
      "cpuprof: generate: --name expects a value (see 'cpuprof generate --help')\n",
    );
    expect(cpuprof(["show", "--json=yes", "skylake"]).stderr).toBe(
      "cpuprof: show: --json takes no value (see 'cpuprof show --help')\n",
    );
    const r = cpuprof(["list", "--nope"]);
    expect(r.code).toBe(2);
    expect(r.stderr).not.toContain("'--nope'. To specify"); // Node's wording
  });
});
