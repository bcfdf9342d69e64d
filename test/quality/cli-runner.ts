// Runs the CLI's main(argv) in-process for fuzzing: stdout and stderr go to /dev/null while it
// runs (the commands write with writeSync on fds 1 and 2, so only dup2 can catch them), and the
// working directory is a scratch directory so relative output paths land there.
import { dlopen, FFIType } from "bun:ffi";
import { closeSync, openSync } from "node:fs";
import { CpuprofError } from "../../src/errors.ts";
import { main } from "../../src/cli/main.ts";
import type { CliOutcome } from "./generators.ts";

let libc: ReturnType<typeof open> | undefined;
function open() {
  return dlopen("libc.so.6", {
    dup: { args: [FFIType.i32], returns: FFIType.i32 },
    dup2: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  });
}

/** Runs `fn` with fds 1 and 2 on /dev/null, restoring them afterwards whatever happens. */
export async function silenced<T>(fn: () => Promise<T>): Promise<T> {
  libc ??= open();
  const { dup, dup2 } = libc.symbols;
  const devnull = openSync("/dev/null", "w");
  const saved1 = dup(1);
  const saved2 = dup(2);
  if (saved1 < 0 || saved2 < 0) throw new Error("dup failed");
  dup2(devnull, 1);
  dup2(devnull, 2);
  try {
    return await fn();
  } finally {
    dup2(saved1, 1);
    dup2(saved2, 2);
    closeSync(saved1);
    closeSync(saved2);
    closeSync(devnull);
  }
}

/** main(argv) in `cwd`, silenced; a thrown CpuprofError becomes its exit code, anything else is kept as the error. */
export async function runMain(argv: string[], cwd: string): Promise<CliOutcome> {
  const before = process.cwd();
  process.chdir(cwd);
  try {
    return await silenced(async () => {
      try {
        return { code: await main(argv) };
      } catch (e) {
        return { code: e instanceof CpuprofError ? e.exitCode : -1, error: e };
      }
    });
  } finally {
    process.chdir(before);
  }
}
