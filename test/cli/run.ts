// Runs the CLI as a user does: a separate process, argv in, exit code and output out.
import { resolve } from "node:path";

import { FIRECRACKER_HOSTS_DIR } from "../helpers/fixtures.ts";

export const ROOT = resolve(import.meta.dir, "../..");
export const HOSTS = FIRECRACKER_HOSTS_DIR;

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  bytes: Uint8Array;
}

export function cpuprof(args: string[], opts: { cwd?: string; stdin?: string } = {}): CliResult {
  const p = Bun.spawnSync([process.execPath, resolve(ROOT, "src/cli/main.ts"), ...args], {
    cwd: opts.cwd ?? ROOT,
    stdin: opts.stdin === undefined ? "ignore" : new TextEncoder().encode(opts.stdin),
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, CPUPROF_DEBUG: "" },
  });
  return {
    code: p.exitCode ?? -1,
    stdout: p.stdout.toString(),
    stderr: p.stderr.toString(),
    bytes: new Uint8Array(p.stdout),
  };
}

export function fixtureHost(name: string): string {
  return resolve(HOSTS, `fingerprint_${name}_6.1host.json`);
}

export const SCRIPT = "/usr/bin/script";

/** The CLI on a new pseudo-terminal (script(1)): what it writes to the terminal, stdout and stderr together. */
export function cpuprofOnTerminal(
  args: string[],
  env: Record<string, string> = {},
  cwd = ROOT,
): { code: number; output: string } {
  const quoted = [process.execPath, resolve(ROOT, "src/cli/main.ts"), ...args]
    .map((a) => `'${a.replaceAll("'", "'\\''")}'`)
    .join(" ");
  const p = Bun.spawnSync([SCRIPT, "-qec", quoted, "/dev/null"], {
    cwd,
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, CPUPROF_DEBUG: "", ...env },
  });
  return { code: p.exitCode ?? -1, output: p.stdout.toString() };
}
