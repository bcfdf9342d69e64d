// bun run build: one self-contained executable, dist/cpuprof. The embedded profiles are
// deflated and inlined at bundle time by src/embedded/macro.ts.
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";

const root = resolve(import.meta.dir, "..");
const outfile = resolve(root, "dist/cpuprof");
mkdirSync(resolve(root, "dist"), { recursive: true });
const started = performance.now();
const proc = Bun.spawnSync(
  // --bytecode: precompiled JavaScriptCore bytecode cuts process start from ~40 ms to ~10 ms.
  [process.execPath, "build", "--compile", "--minify", "--bytecode", "--sourcemap=none", resolve(root, "src/cli/main.ts"), "--outfile", outfile],
  { cwd: root, stdout: "inherit", stderr: "inherit" },
);
if (proc.exitCode !== 0) {
  console.error(`build: bun build --compile failed (exit ${proc.exitCode})`);
  process.exit(1);
}
const size = Bun.file(outfile).size;
console.log(`built ${outfile} (${(size / 1048576).toFixed(1)} MiB) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
