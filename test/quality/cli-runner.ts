// Runs the CLI's main(argv) in-process for fuzzing: stdout and stderr go to /dev/null while it
// runs (the commands write with writeSync on fds 1 and 2, so only dup2 can catch them), and the
// working directory is a scratch directory so relative output paths land there. stdin is what the
// case gives (a pipe for small inputs, a file for large ones) or /dev/null, never the runner's own.
import { dlopen, FFIType, ptr } from "bun:ffi";
import { closeSync, openSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { CpuprofError } from "../../src/errors.ts";
import { main } from "../../src/cli/main.ts";
import type { CliOutcome } from "./generators.ts";

let libc: ReturnType<typeof open> | undefined;
function open() {
  return dlopen("libc.so.6", {
    dup: { args: [FFIType.i32], returns: FFIType.i32 },
    dup2: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    pipe: { args: [FFIType.ptr], returns: FFIType.i32 },
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

/** The largest stdin given through a pipe (it is written before main runs, so it must fit the pipe's buffer). */
const PIPE_LIMIT = 60 * 1024;

/** An fd to put on 0 for a run: a pipe holding `bytes` when they fit, else a file; /dev/null without input. */
function stdinFd(bytes: Uint8Array | undefined, cwd: string): number {
  if (bytes === undefined) return openSync("/dev/null", "r");
  if (bytes.byteLength <= PIPE_LIMIT) {
    libc ??= open();
    const fds = new Int32Array(2);
    if (libc.symbols.pipe(ptr(fds)) !== 0) throw new Error("pipe failed");
    let off = 0;
    while (off < bytes.byteLength) off += writeSync(fds[1]!, bytes, off);
    closeSync(fds[1]!);
    return fds[0]!;
  }
  const file = join(cwd, "stdin.bin");
  writeFileSync(file, bytes);
  return openSync(file, "r");
}

/** main(argv) in `cwd`, silenced, with `stdin` on fd 0; a thrown CpuprofError becomes its exit code, anything else is kept as the error. */
export async function runMain(argv: string[], cwd: string, stdin?: Uint8Array): Promise<CliOutcome> {
  const before = process.cwd();
  process.chdir(cwd);
  libc ??= open();
  const input = stdinFd(stdin, cwd);
  const saved0 = libc.symbols.dup(0);
  libc.symbols.dup2(input, 0);
  try {
    return await silenced(async () => {
      try {
        return { code: await main(argv) };
      } catch (e) {
        return { code: e instanceof CpuprofError ? e.exitCode : -1, error: e };
      }
    });
  } finally {
    libc.symbols.dup2(saved0, 0);
    closeSync(saved0);
    closeSync(input);
    process.chdir(before);
  }
}
