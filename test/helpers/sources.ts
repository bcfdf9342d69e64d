// The project's own source as text, for tests that check what the code or the bundle contains.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const REPO = resolve(import.meta.dir, "../..");
export const BUN = join(REPO, "node_modules/.bin/bun");

/** Every file under `dir` whose name matches `names`, recursively. */
export function sourceFiles(dir: string, names: RegExp = /\.(ts|js|mjs|json)$/): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path, names));
    else if (names.test(name)) out.push(path);
  }
  return out;
}

/** The JavaScript `bun build --target=bun` makes of `entry` (what the executable carries). */
export function bundle(entry: string): string {
  const outdir = mkdtempSync(join(tmpdir(), "cpuprof-bundle-"));
  try {
    const r = Bun.spawnSync([BUN, "build", entry, "--target=bun", "--outdir", outdir], {
      cwd: REPO,
      stdout: "pipe",
      stderr: "pipe",
    });
    if (r.exitCode !== 0) throw new Error(`bun build ${entry} failed: ${r.stderr.toString()}`);
    return readdirSync(outdir)
      .filter((f) => f.endsWith(".js"))
      .map((f) => readFileSync(join(outdir, f), "utf8"))
      .join("\n");
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
