// Output: stdout/stderr writes, and files written atomically (temporary file in the
// same directory, then rename), so a failure or Ctrl-C never leaves a half-written file.
import { closeSync, fsyncSync, openSync, readFileSync, readlinkSync, renameSync, statSync, unlinkSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { InputError } from "../errors.ts";
import { printable } from "../model/document.ts";

const pendingTemps = new Set<string>();
let cleanupInstalled = false;

function removePendingTemps(): void {
  for (const t of pendingTemps) {
    try {
      unlinkSync(t);
    } catch {
      /* already gone */
    }
  }
  pendingTemps.clear();
}

function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(sig, () => {
      removePendingTemps();
      process.exit(128 + ({ SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const)[sig]);
    });
  }
  process.on("exit", removePendingTemps);
}

/** Test hook: a function called between chunks, which may throw to simulate a failing write. */
export interface AtomicWriteHooks {
  afterChunk?: (written: number) => void;
}

/** Writes `data` to `path` via a temporary file in the same directory and a rename. */
export function writeFileAtomic(path: string, data: string | Uint8Array, hooks: AtomicWriteHooks = {}): void {
  installCleanup();
  const dir = dirname(path);
  try {
    if (statSync(path).isDirectory()) throw new InputError(`cannot write ${printable(path, 200)}: it is a directory`);
  } catch (e) {
    if (e instanceof InputError) throw e;
  }
  // The target's name is cut so a legal long target name still leaves room for the suffix (NAME_MAX 255).
  const temp = join(dir, `.${basename(path).slice(0, 100)}.cpuprof-${process.pid}-${Math.random().toString(36).slice(2, 10)}.tmp`);
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  let fd: number;
  try {
    fd = openSync(temp, "wx", 0o644);
  } catch (e) {
    throw new InputError(`cannot write ${printable(path, 200)}: ${errnoText(e)}`);
  }
  pendingTemps.add(temp);
  try {
    const CHUNK = 1 << 16;
    for (let off = 0; off < bytes.byteLength; off += CHUNK) {
      const chunk = bytes.subarray(off, Math.min(off + CHUNK, bytes.byteLength));
      let done = 0;
      while (done < chunk.byteLength) done += writeSync(fd, chunk, done);
      hooks.afterChunk?.(off + chunk.byteLength);
    }
    fsyncSync(fd);
    closeSync(fd);
    renameSync(temp, path);
    pendingTemps.delete(temp);
  } catch (e) {
    try {
      closeSync(fd);
    } catch {
      /* already closed */
    }
    try {
      unlinkSync(temp);
    } catch {
      /* never created */
    }
    pendingTemps.delete(temp);
    if (e instanceof InputError) throw e;
    throw new InputError(`cannot write ${printable(path, 200)}: ${errnoText(e)}`);
  }
}

function errnoText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err.code ? `${err.code}${err.syscall ? ` (${err.syscall})` : ""}` : printable(String(err.message ?? e), 120);
}

/** Reads a file given on the command line, with one-line errors. */
export function readInputFile(path: string, maxBytes = 8 * 1024 * 1024): string {
  let size: number;
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw new InputError(`${printable(path, 200)}: is a directory`);
    size = st.size;
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(`${printable(path, 200)}: cannot read (${errnoText(e)})`);
  }
  if (size > maxBytes) throw new InputError(`${printable(path, 200)}: larger than ${maxBytes} bytes`);
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new InputError(`${printable(path, 200)}: cannot read (${errnoText(e)})`);
  }
}

export function readInputBytes(path: string, maxBytes = 8 * 1024 * 1024): Uint8Array {
  return new TextEncoder().encode(readInputFile(path, maxBytes));
}

/** Where command output goes: a file (atomic) or stdout. */
export function emit(data: string | Uint8Array, outFile: string | undefined): void {
  if (outFile !== undefined && outFile !== "-") writeFileAtomic(outFile, data);
  else writeStdout(data);
}

export function writeStdout(data: string | Uint8Array): void {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  let off = 0;
  while (off < bytes.byteLength) {
    try {
      off += writeSync(1, bytes, off);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EAGAIN") continue;
      if (code === "EPIPE") return; // reader went away (e.g. `| head`): not our error
      throw e;
    }
  }
}

export function writeStderr(line: string): void {
  try {
    writeSync(2, line.endsWith("\n") ? line : line + "\n");
  } catch {
    /* nothing sensible to do */
  }
}

/**
 * True when `fd` is a terminal: what it is opened on is a tty device (pseudo-terminal, virtual
 * console, serial line or /dev/tty itself). Asked of /proc, not of process.stdout/stderr: touching
 * those makes Bun build a node stream, about 1.5 ms of every run's start-up (see the bench).
 */
export function isTerminal(fd: number): boolean {
  try {
    return /^\/dev\/(pts\/\d+|tty\w*|console)$/.test(readlinkSync(`/proc/self/fd/${fd}`));
  } catch {
    return false;
  }
}

/** True when stderr, where progress goes, is a terminal. */
export function stderrIsTty(): boolean {
  return isTerminal(2);
}
