// Guards on start-up cost: `cpuprof verify` is measured against QEMU as a whole process, and
// most of its time is start-up. Two costs found by profiling must not come back unnoticed:
// fflate at run time (its module load builds Huffman tables and requires worker_threads, ~4 ms)
// and process.stdout/stderr.isTTY (Bun builds a node stream, ~1.5 ms).
import { compileCommand } from "../../scripts/build.ts";
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { BUN, REPO, bundle, sourceFiles } from "../helpers/sources.ts";

/** Source files (relative to the repository) whose text matches `re`, other than `allowed`. */
function offenders(re: RegExp, allowed: readonly string[]): string[] {
  return sourceFiles(join(REPO, "src"), /\.ts$/)
    .map((p) => relative(REPO, p))
    .filter((p) => !allowed.includes(p) && re.test(readFileSync(join(REPO, p), "utf8")));
}

const IMPORTS_FFLATE = /from\s+["']fflate["']|import\(\s*["']fflate["']\s*\)/;
const READS_IS_TTY = /process\.(stdout|stderr)\.isTTY/;

describe("start-up guards", () => {
  test("the patterns catch what they are for (so the checks below can fail)", () => {
    expect(IMPORTS_FFLATE.test(`import { inflateSync } from "fflate";`)).toBe(true);
    expect(IMPORTS_FFLATE.test(`const { inflateSync } = await import("fflate");`)).toBe(true);
    expect(IMPORTS_FFLATE.test(`// fflate compresses them at build time`)).toBe(false);
    expect(READS_IS_TTY.test(`if (process.stderr.isTTY) x();`)).toBe(true);
    expect(READS_IS_TTY.test(`stderrIsTty()`)).toBe(false);
  });

  test("only the bundle-time macro imports fflate", () => {
    expect(offenders(IMPORTS_FFLATE, ["src/embedded/macro.ts"])).toEqual([]);
  });

  test("terminals are told apart by isTerminal(), not process.stdout/stderr.isTTY (the wizard excepted)", () => {
    expect(offenders(READS_IS_TTY, ["src/cli/main.ts", "src/cli/wizard.ts"])).toEqual([]);
  });

  test("the bundled executable carries no fflate and no worker_threads", () => {
    const text = bundle(join(REPO, "src/cli/main.ts"));
    expect(text.length).toBeGreaterThan(10_000);
    expect(text).not.toContain("node_modules/fflate");
    expect(text).not.toContain("worker_threads");
  });

  test("the catalogue and policy tables and the embedded profiles are built at bundle time, not at start", () => {
    // Their macros (src/catalogue/macro.ts, src/policy/macro.ts, src/embedded/macro.ts) evaluate the
    // table modules and run parseProfile in the bundler; the executable parses JSON. Building them at
    // start cost a cold `verify host` about 3.5 ms (README, Performance).
    const text = bundle(join(REPO, "src/cli/main.ts"));
    expect(text).toContain("// src/catalogue/index.ts");
    expect(text).toContain("// src/policy/index.ts");
    for (const tableModule of [
      "src/catalogue/cpuid-features.ts",
      "src/catalogue/cpuid-fields.ts",
      "src/catalogue/msrs.ts",
      "src/policy/rows.ts",
      "src/policy/common.ts",
      "src/policy/intel.ts",
      "src/policy/amd.ts",
    ])
      expect(text).not.toContain(`// ${tableModule}`);
    // embeddedProfile parses what the macro parsed: no schema validation on verify's path for it
    expect(readFileSync(join(REPO, "src/embedded/profiles.ts"), "utf8")).not.toMatch(/\bparseProfile\(/);
  });

  test("what start-up links, as scripts/build.ts splits the executable: no node built-in, no FFI, no schema library", () => {
    // The entry chunk and the chunks it imports statically are evaluated before any command runs;
    // every command's own modules are chunks loaded when it runs.
    const outdir = mkdtempSync(join(tmpdir(), "cpuprof-split-"));
    try {
      const r = Bun.spawnSync(
        [
          BUN,
          "build",
          join(REPO, "src/cli/main.ts"),
          "--target=bun",
          "--splitting",
          "--format=esm",
          "--outdir",
          outdir,
        ],
        { cwd: REPO, stdout: "pipe", stderr: "pipe" },
      );
      expect(r.exitCode).toBe(0);
      expect(compileCommand("entry.ts", "out")).toEqual(expect.arrayContaining(["--splitting", "--format=esm"]));
      const chunks = new Set<string>(["main.js"]);
      const staticImports = (text: string) =>
        [...text.matchAll(/^import\s[^;]*?from\s*"([^"]+)";?$/gms)].map((m) => m[1]!);
      const linked: string[] = [];
      for (const chunk of chunks) {
        for (const spec of staticImports(readFileSync(join(outdir, chunk), "utf8"))) {
          if (spec.startsWith("./")) chunks.add(spec.slice(2));
          else linked.push(spec);
        }
      }
      expect(readdirSync(outdir).length).toBeGreaterThan(chunks.size); // commands really are separate chunks
      expect(linked).toEqual([]);
      const text = [...chunks].map((c) => readFileSync(join(outdir, c), "utf8")).join("\n");
      expect(text).not.toContain("node_modules/valibot");
      expect(text).not.toContain("src/kvm/");
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});
