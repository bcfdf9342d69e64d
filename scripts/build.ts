// bun run build: one self-contained executable, dist/cpuprof. The embedded profiles are
// deflated and inlined at bundle time by src/embedded/macro.ts.
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";

const root = resolve(import.meta.dir, "..");
/** JavaScriptCore tier-up threshold scale the executable starts with (1 = Bun's default). */
const JIT_POLICY = 32;

/**
 * The `bun build --compile` command line for an entry point, as dist/cpuprof is built (the bench builds
 * its cold-start probe, scripts/verify-phases.ts, with the same flags).
 */
export function compileCommand(entry: string, outfile: string): string[] {
  // --bytecode: precompiled JavaScriptCore bytecode cuts process start from ~40 ms to ~10 ms.
  // --compile-jit-policy: a command runs most of its code once, so JIT-compiling it in the
  // background is wasted work; raising the tier-up thresholds JIT_POLICY-fold cut `verify host`
  // from ~21 to ~16.5 ms here, and hot loops (matrix over 1,000 hosts) still tier up (1.40 s
  // before, 1.35 s after; at 1000-fold it was 1.75 s).
  // --splitting (ESM): each command's modules are a chunk loaded when the command runs, so the
  // built-in modules they import (fs, util, tty and readline for the wizard...) are not linked
  // at start-up; --version went from ~6.9 to ~5.8 ms here (a compiled hello world: ~4.8 ms).
  // --no-compile-autoload-*: a standalone executable otherwise looks for bunfig.toml and .env files in
  // the working directory at every start; cpuprof reads neither (a user's .env must not change what it
  // does), and the lookups cost about 1 ms of a cold `verify host` here.
  return [
    process.execPath,
    "build",
    "--compile",
    "--no-compile-autoload-bunfig",
    "--no-compile-autoload-dotenv",
    "--splitting",
    "--format=esm",
    "--minify",
    "--bytecode",
    "--sourcemap=none",
    `--compile-jit-policy=${JIT_POLICY}`,
    entry,
    "--outfile",
    outfile,
  ];
}

if (import.meta.main) {
  const outfile = resolve(root, "dist/cpuprof");
  mkdirSync(resolve(root, "dist"), { recursive: true });
  const started = performance.now();
  const proc = Bun.spawnSync(compileCommand(resolve(root, "src/cli/main.ts"), outfile), {
    cwd: root,
    stdout: "inherit",
    stderr: "inherit",
  });
  if (proc.exitCode !== 0) {
    console.error(`build: bun build --compile failed (exit ${proc.exitCode})`);
    process.exit(1);
  }
  const size = Bun.file(outfile).size;
  console.log(
    `built ${outfile} (${(size / 1048576).toFixed(1)} MiB) in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
}
