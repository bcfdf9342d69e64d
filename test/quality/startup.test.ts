// Guards on start-up cost: `cpuprof verify` is measured against QEMU as a whole process, and
// most of its time is start-up. Two costs found by profiling must not come back unnoticed:
// fflate at run time (its module load builds Huffman tables and requires worker_threads, ~4 ms)
// and process.stdout/stderr.isTTY (Bun builds a node stream, ~1.5 ms).
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { REPO, bundle, sourceFiles } from "../helpers/sources.ts";

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
});
