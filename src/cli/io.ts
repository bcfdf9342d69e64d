// The one output path and the one input path of every command.
//
// Output (`-o`): `-` is stdout. An existing non-regular target (device, FIFO, socket, a file
// reached through /dev or /proc such as /dev/stdout) is written straight through, never renamed
// over. A regular target (after following symlinks, so the link stays a link) is replaced
// atomically: a temporary file beside it, written, given the old file's mode (and owner when we
// are root), fsynced, renamed over the target, and the directory fsynced. Several targets
// (`export chv`) are all prepared before any is renamed. SIGINT, SIGTERM and SIGHUP before the
// rename remove the temporary files and exit 130; a temporary file left by a killed run is
// removed by the next write to the same target.
//
// Input: `-` is stdin; every input (file, pipe, device) is read with the same 8 MiB cap and must
// be UTF-8.
import type { Stats } from "node:fs";
import { InputError, OutputError } from "../errors.ts";
import { MAX_DOCUMENT_BYTES, printable } from "../model/document.ts";
import { isTty, writeFully } from "../kvm/posix.ts";

export { exitNow } from "../kvm/posix.ts";

// node:fs and node:path are linked on first use: linking them costs about 0.85 and 0.25 ms, and a
// command that reads no file and writes only to stdout and stderr (verify, show, list) never needs them.
let nodeFs: typeof import("node:fs") | undefined;
const fs = (): typeof import("node:fs") => (nodeFs ??= process.getBuiltinModule("node:fs"));
let nodePath: typeof import("node:path") | undefined;
const pathModule = (): typeof import("node:path") => (nodePath ??= process.getBuiltinModule("node:path"));

// ---------------------------------------------------------------------------------------------
// Output

const pendingTemps = new Set<string>();
let cleanupInstalled = false;

function removePendingTemps(): void {
  for (const t of pendingTemps) {
    try {
      fs().unlinkSync(t);
    } catch {
      /* already gone */
    }
  }
  pendingTemps.clear();
}

/** The exit code of a run cancelled by SIGINT, SIGTERM or SIGHUP while writing. */
export const CANCELLED_EXIT = 130;

function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(sig, () => {
      removePendingTemps();
      process.exit(CANCELLED_EXIT);
    });
  }
  process.on("exit", removePendingTemps);
}

/** Test hooks: called between chunks (may throw to simulate a failing write), and before the renames. */
export interface AtomicWriteHooks {
  afterChunk?: (written: number) => void;
  beforeCommit?: () => Promise<void> | void;
}

/** Marks our temporary files: `.NAME.cpuprof-tmp.PID.RANDOM`. */
const TEMP_TAG = ".cpuprof-tmp.";

function tempPrefix(target: string): string {
  // The target's name is cut so a legal long target name still leaves room for the suffix (NAME_MAX 255).
  return `.${pathModule().basename(target).slice(0, 100)}${TEMP_TAG}`;
}

/** Removes temporary files for `target` whose writer process no longer exists (e.g. killed with SIGKILL). */
export function removeStaleTemps(target: string): void {
  const dir = pathModule().dirname(target);
  const prefix = tempPrefix(target);
  let names: string[];
  try {
    names = fs().readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length).split(".")[0]);
    if (!Number.isSafeInteger(pid) || pid <= 0) continue;
    const path = pathModule().join(dir, name);
    if (pendingTemps.has(path) || processAlive(pid)) continue;
    try {
      fs().unlinkSync(path);
    } catch {
      /* someone else removed it */
    }
  }
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

export type OutputTarget =
  | { kind: "stdout" }
  | { kind: "fd"; fd: number; path: string }
  | { kind: "through"; path: string }
  | { kind: "atomic"; path: string; existing: Stats | undefined };

const FD_PATH_RE = /^\/(proc\/|dev\/(fd\/|stdin$|stdout$|stderr$))/;

/** The descriptor number a path names in this process (/dev/stdout, /dev/fd/N, /proc/self/fd/N), if it does. */
function ownFdOf(path: string): number | undefined {
  const std = /^\/dev\/std(in|out|err)$/.exec(path);
  if (std) return ["in", "out", "err"].indexOf(std[1]!);
  const m = /^\/(?:dev\/fd|proc\/(?:self|thread-self|(\d+))\/fd)\/(\d+)$/.exec(path);
  if (!m || (m[1] !== undefined && Number(m[1]) !== process.pid)) return undefined;
  return Number(m[2]);
}

/** Where writing `path` really goes: stdout, straight through (devices, FIFOs, /dev and /proc paths), or atomic. */
export function resolveOutputTarget(path: string): OutputTarget {
  if (path === "-") return { kind: "stdout" };
  let current = path;
  for (let hops = 0; ; hops++) {
    if (hops > 40) throw new OutputError(`cannot write ${printable(path, 200)}: ELOOP (too many symbolic links)`);
    // /dev/stdout, /dev/fd/N and /proc/.../fd/N name open file descriptors: write to what they are
    // open on, never replace it (a shell's `> file` would keep the old inode).
    if (FD_PATH_RE.test(pathModule().resolve(current))) {
      if (statOrUndefined(path)?.isDirectory())
        throw new OutputError(`cannot write ${printable(path, 200)}: it is a directory`);
      // One of our own descriptors: write to it as it is open (opening it again would truncate a `>>` file).
      const fd = ownFdOf(pathModule().resolve(current));
      return fd === undefined ? { kind: "through", path } : { kind: "fd", fd, path };
    }
    const l = lstatOrUndefined(current);
    if (l === undefined) return { kind: "atomic", path: current, existing: undefined };
    if (l.isSymbolicLink()) {
      const link = fs().readlinkSync(current);
      current = pathModule().isAbsolute(link) ? link : pathModule().join(pathModule().dirname(current), link);
      continue;
    }
    if (l.isDirectory()) throw new OutputError(`cannot write ${printable(path, 200)}: it is a directory`);
    if (!l.isFile()) return { kind: "through", path };
    return { kind: "atomic", path: current, existing: l };
  }
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return fs().statSync(path);
  } catch {
    return undefined;
  }
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return fs().lstatSync(path);
  } catch {
    return undefined;
  }
}

function toBytes(data: string | Uint8Array): Uint8Array {
  return typeof data === "string" ? new TextEncoder().encode(data) : data;
}

const CHUNK = 1 << 16;

/** The one write loop of every output (retries, short writes, a full non-blocking pipe): posix.ts's. */
function writeFd(fd: number, bytes: Uint8Array): void {
  writeFully(fd, bytes, () => sleepMs(1));
}

function writeAll(fd: number, bytes: Uint8Array, hooks: AtomicWriteHooks): void {
  for (let off = 0; off < bytes.byteLength; off += CHUNK) {
    const chunk = bytes.subarray(off, Math.min(off + CHUNK, bytes.byteLength));
    writeFd(fd, chunk);
    hooks.afterChunk?.(off + chunk.byteLength);
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
function sleepMs(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

interface Prepared {
  target: string;
  temp: string;
}

/** Writes `bytes` to a new temporary file beside `target`, with the old file's mode and owner, fsynced. */
function prepareTemp(
  shown: string,
  target: string,
  existing: Stats | undefined,
  bytes: Uint8Array,
  hooks: AtomicWriteHooks,
): Prepared {
  removeStaleTemps(target);
  const temp = pathModule().join(
    pathModule().dirname(target),
    `${tempPrefix(target)}${process.pid}.${Math.random().toString(36).slice(2, 10)}`,
  );
  let fd: number;
  try {
    // A new file gets 0666 less the umask, as any other tool's output would.
    fd = fs().openSync(temp, "wx", 0o666);
  } catch (e) {
    throw new OutputError(`cannot write ${printable(shown, 200)}: ${errnoText(e)}`);
  }
  pendingTemps.add(temp);
  try {
    if (existing) {
      // Owner first: chown clears set-id bits, which the chmod then restores.
      if (process.getuid?.() === 0) fs().fchownSync(fd, existing.uid, existing.gid);
      fs().fchmodSync(fd, existing.mode & 0o7777);
    }
    writeAll(fd, bytes, hooks);
    fs().fsyncSync(fd);
  } catch (e) {
    discard(temp, fd);
    if (e instanceof OutputError) throw e;
    throw new OutputError(`cannot write ${printable(shown, 200)}: ${errnoText(e)}`);
  }
  fs().closeSync(fd);
  return { target, temp };
}

function discard(temp: string, fd?: number): void {
  if (fd !== undefined)
    try {
      fs().closeSync(fd);
    } catch {
      /* already closed */
    }
  try {
    fs().unlinkSync(temp);
  } catch {
    /* never created */
  }
  pendingTemps.delete(temp);
}

function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs().openSync(dir, "r");
    fs().fsyncSync(fd);
  } catch {
    // Some file systems refuse fsync on a directory (EINVAL); the rename itself has happened.
  } finally {
    if (fd !== undefined) fs().closeSync(fd);
  }
}

/** Lets a signal that arrived during the (synchronous) writes run its handler before anything is committed. */
async function signalCheckpoint(): Promise<void> {
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setTimeout(r, 0));
}

function writeThrough(shown: string, path: string, bytes: Uint8Array, hooks: AtomicWriteHooks): void {
  let fd: number;
  try {
    fd = fs().openSync(path, "w");
  } catch (e) {
    throw new OutputError(`cannot write ${printable(shown, 200)}: ${errnoText(e)}`);
  }
  try {
    writeAll(fd, bytes, hooks);
  } catch (e) {
    throw new OutputError(`cannot write ${printable(shown, 200)}: ${errnoText(e)}`);
  } finally {
    fs().closeSync(fd);
  }
}

/**
 * Writes every (path, data) pair, all or none for regular files: every temporary file is written
 * and fsynced before the first rename, and a failed rename puts back what the earlier ones replaced.
 */
export function writeOutputs(
  outputs: readonly { path: string; data: string | Uint8Array }[],
  hooks: AtomicWriteHooks = {},
): Promise<void> {
  return tracked(writeOutputsNow(outputs, hooks));
}

/** Writes nobody has awaited yet; settleOutputs waits for them and reports their failures. */
const unobserved = new Set<Promise<void>>();

/**
 * The write as a thenable that knows when it is awaited: from then on its caller sees the result,
 * and settleOutputs leaves it alone. Until then it is handled here (no unhandled rejection).
 */
function tracked(write: Promise<void>): Promise<void> {
  unobserved.add(write);
  write.then(
    () => unobserved.delete(write),
    () => undefined,
  );
  const observe = () => {
    unobserved.delete(write);
    return write;
  };
  // A thenable that marks the write observed when awaited; a plain Promise could not tell.
  const handle = {
    // biome-ignore lint/suspicious/noThenProperty: this object is a promise on purpose (see above)
    // biome-ignore lint/suspicious/noConfusingVoidType: the signature of Promise<void>.then
    then: (onFulfilled?: (v: void) => unknown, onRejected?: (e: unknown) => unknown) =>
      observe().then(onFulfilled, onRejected),
    catch: (onRejected?: (e: unknown) => unknown) => observe().catch(onRejected),
    finally: (onFinally?: () => void) => observe().finally(onFinally),
    [Symbol.toStringTag]: "Promise",
  };
  return handle as unknown as Promise<void>;
}

/**
 * Waits for every output write no caller awaited and throws the first failure. main calls it after
 * a command returns, so a write the command forgot to await still finishes (or fails with its exit
 * code) before the process exits.
 */
export async function settleOutputs(): Promise<void> {
  const writes = [...unobserved];
  unobserved.clear();
  for (const w of writes) await w;
}

async function writeOutputsNow(
  outputs: readonly { path: string; data: string | Uint8Array }[],
  hooks: AtomicWriteHooks,
): Promise<void> {
  installCleanup();
  const targets = outputs.map((o) => ({ shown: o.path, target: resolveOutputTarget(o.path), bytes: toBytes(o.data) }));
  const prepared: (Prepared & { shown: string; existed: boolean })[] = [];
  try {
    for (const t of targets)
      if (t.target.kind === "atomic")
        prepared.push({
          ...prepareTemp(t.shown, t.target.path, t.target.existing, t.bytes, hooks),
          shown: t.shown,
          existed: t.target.existing !== undefined,
        });
    await signalCheckpoint();
    await hooks.beforeCommit?.();
    await signalCheckpoint();
    commitAll(prepared);
  } catch (e) {
    for (const p of prepared) discard(p.temp);
    throw e;
  }
  // Straight-through targets cannot be taken back; they go last, once every file is in place.
  for (const t of targets) {
    if (t.target.kind === "stdout") writeStdout(t.bytes);
    else if (t.target.kind === "through") writeThrough(t.shown, t.target.path, t.bytes, hooks);
    else if (t.target.kind === "fd") {
      try {
        writeAll(t.target.fd, t.bytes, hooks);
      } catch (e) {
        throw new OutputError(`cannot write ${printable(t.shown, 200)}: ${errnoText(e)}`);
      }
    }
  }
}

function commitAll(prepared: readonly (Prepared & { shown: string; existed: boolean })[]): void {
  // Hard links keep the previous files until every rename has succeeded.
  const backups: { target: string; backup: string | undefined }[] = [];
  try {
    if (prepared.length > 1)
      for (const p of prepared) {
        const backup = p.existed ? `${p.temp}.old` : undefined;
        if (backup) {
          // link(2) through node's fs: the backup shares the old file's inode.
          fs().linkSync(p.target, backup);
          pendingTemps.add(backup);
        }
        backups.push({ target: p.target, backup });
      }
    const done: number[] = [];
    for (const [i, p] of prepared.entries()) {
      try {
        fs().renameSync(p.temp, p.target);
      } catch (e) {
        for (const j of done) {
          const b = backups[j]!;
          try {
            if (b.backup) fs().renameSync(b.backup, b.target);
            else fs().unlinkSync(b.target);
          } catch {
            /* best effort: the original error is what the user needs */
          }
        }
        throw new OutputError(`cannot write ${printable(p.shown, 200)}: ${errnoText(e)}`);
      }
      pendingTemps.delete(p.temp);
      done.push(i);
    }
    for (const dir of new Set(prepared.map((p) => pathModule().dirname(p.target)))) fsyncDir(dir);
  } catch (e) {
    if (e instanceof OutputError) throw e;
    throw new OutputError(`cannot write ${printable(prepared[0]?.shown ?? "", 200)}: ${errnoText(e)}`);
  } finally {
    for (const b of backups)
      if (b.backup) {
        try {
          fs().unlinkSync(b.backup);
        } catch {
          /* restored or never made */
        }
        pendingTemps.delete(b.backup);
      }
  }
}

/** Writes `data` to one output path (see the top of this file). */
export function writeOutput(path: string, data: string | Uint8Array, hooks: AtomicWriteHooks = {}): Promise<void> {
  return writeOutputs([{ path, data }], hooks);
}

/** Test hook for the signal tests: CPUPROF_TEST_PAUSE_BEFORE_COMMIT_MS holds every `-o` write before its rename. */
function envHooks(): AtomicWriteHooks {
  const ms = Number(process.env.CPUPROF_TEST_PAUSE_BEFORE_COMMIT_MS ?? "");
  return Number.isFinite(ms) && ms > 0 ? { beforeCommit: () => new Promise((r) => setTimeout(r, ms)) } : {};
}

// Not `async`: they return the tracked promise itself, so a caller that forgets to await leaves
// no unhandled rejection behind, and settleOutputs still reports the failure.

/** Where command output goes: `-o FILE` (see writeOutput), or stdout when there is none or it is `-`. */
export function emit(data: string | Uint8Array, outFile: string | undefined): Promise<void> {
  if (outFile !== undefined && outFile !== "-") return writeOutput(outFile, data, envHooks());
  writeStdout(data);
  return Promise.resolve();
}

/**
 * A document a command makes (a profile, a capture, a schema): written to `-o FILE` when given,
 * and printed on stdout when there is no file or `--json` asks for it. One rule for every command.
 */
export async function emitDocument(text: string, outFile: string | undefined, json: boolean): Promise<void> {
  const toFile = outFile !== undefined && outFile !== "-";
  if (toFile) await emit(text, outFile);
  if (!toFile || json) await emit(text, undefined);
}

/** Several output files, all replaced or none (export chv). */
export function emitAll(outputs: readonly { path: string; data: string | Uint8Array }[]): Promise<void> {
  return writeOutputs(outputs, envHooks());
}

export function writeStdout(data: string | Uint8Array): void {
  try {
    writeFd(1, toBytes(data));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EPIPE") return; // reader went away (e.g. `| head`): not our error
    throw new OutputError(`cannot write to standard output: ${errnoText(e)}`);
  }
}

export function writeStderr(line: string): void {
  try {
    writeFd(2, toBytes(line.endsWith("\n") ? line : `${line}\n`));
  } catch {
    /* nothing sensible to do */
  }
}

/** A progress line's text (carriage returns, erase-line escapes) on stderr, as is; failures are ignored. */
export function writeProgress(text: string): void {
  try {
    writeFd(2, toBytes(text));
  } catch {
    /* progress is best effort */
  }
}

/** What an errno code means, in the words a user reads (the code itself says little). */
const ERRNO_WORDS: Record<string, string> = {
  ENOENT: "no such file or directory",
  ENOTDIR: "a part of the path is not a directory",
  EISDIR: "it is a directory",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOSPC: "no space left on device",
  EDQUOT: "disk quota exceeded",
  EROFS: "read-only file system",
  EEXIST: "it already exists",
  ELOOP: "too many symbolic links",
  ENAMETOOLONG: "file name too long",
  EMFILE: "too many open files",
  ENFILE: "too many open files",
  EIO: "input/output error",
  EPIPE: "the reader went away",
  EXDEV: "cannot rename across file systems",
  EBUSY: "device or resource busy",
  EINVAL: "invalid argument",
  ETXTBSY: "text file busy",
  EFBIG: "file too large",
  ENXIO: "no such device or address",
  ENODEV: "no such device",
};

export function errnoText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err.code && ERRNO_WORDS[err.code]) return ERRNO_WORDS[err.code]!;
  // An unknown code: Node's message starts with the code and its words ("EXYZ: words, syscall path").
  const words = /^[A-Z0-9]+: ([^,]+)/.exec(String(err.message ?? ""))?.[1];
  return printable(words ?? (err.code ? `error ${err.code}` : String(err.message ?? e)), 120);
}

// ---------------------------------------------------------------------------------------------
// Input

/** The name an input has in messages: `-` is stdin. */
export function inputName(path: string): string {
  return path === "-" ? "stdin" : printable(path, 200);
}

let stdinTaken = false;

/** Starts a command line: stdin not yet taken (main calls this, so in-process runs start alike). */
export function beginInputs(): void {
  stdinTaken = false;
}

/**
 * Reads one input, whatever it is (regular file, pipe, FIFO, device, `-` for stdin), reading at
 * most `maxBytes` + 1 bytes: a larger input is refused without reading the rest.
 */
export function readInputBytes(path: string, maxBytes = MAX_DOCUMENT_BYTES): Uint8Array {
  const name = inputName(path);
  let fd: number;
  let owned = true;
  if (path === "-") {
    if (stdinTaken) throw new InputError("stdin ('-') can be given only once");
    stdinTaken = true;
    fd = 0;
    owned = false;
  } else {
    try {
      fd = fs().openSync(path, "r");
    } catch (e) {
      throw new InputError(`${name}: cannot read (${errnoText(e)})`);
    }
  }
  try {
    const st = fs().fstatSync(fd);
    if (st.isDirectory()) throw new InputError(`${name}: is a directory`);
    if (st.isFile() && st.size > maxBytes) throw new InputError(`${name}: larger than ${maxBytes} bytes (8 MiB)`);
    let buf = new Uint8Array(Math.min(maxBytes + 1, st.isFile() ? st.size + 1 : 1 << 16));
    let len = 0;
    for (;;) {
      if (len === buf.byteLength) {
        if (len > maxBytes) break;
        const bigger = new Uint8Array(Math.min(maxBytes + 1, buf.byteLength * 2));
        bigger.set(buf);
        buf = bigger;
      }
      let n: number;
      try {
        n = fs().readSync(fd, buf, len, buf.byteLength - len, null);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "EAGAIN") {
          sleepMs(1);
          continue;
        }
        throw new InputError(`${name}: cannot read (${errnoText(e)})`);
      }
      if (n === 0) break;
      len += n;
    }
    if (len > maxBytes) throw new InputError(`${name}: larger than ${maxBytes} bytes (8 MiB)`);
    return buf.subarray(0, len);
  } finally {
    if (owned) fs().closeSync(fd);
  }
}

/** Reads one input as text: UTF-8 required (see readInputBytes for the rest). */
export function readInputFile(path: string, maxBytes = MAX_DOCUMENT_BYTES): string {
  return decodeInput(readInputBytes(path, maxBytes), inputName(path));
}

/** The text of an input's bytes; anything but UTF-8 is refused naming the first bad byte. */
export function decodeInput(bytes: Uint8Array, name: string): string {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new InputError(`${name}: not valid UTF-8 (at byte ${firstInvalidUtf8(bytes)})`);
  }
}

/** Offset of the first byte that does not start or continue a valid UTF-8 sequence. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    const need =
      b < 0x80 ? 0 : b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : -1;
    if (need < 0) return i;
    if (need > 0) {
      try {
        new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(i, i + need + 1));
      } catch {
        return i;
      }
    }
    i += need + 1;
  }
  return i;
}

/**
 * True when `fd` is a terminal (isatty). Asked of the fd itself, not of process.stdout/stderr: touching
 * those makes Bun build a node stream, about 1.5 ms of every run's start-up (see the bench).
 */
export function isTerminal(fd: number): boolean {
  return isTty(fd);
}

/** True when stderr, where progress goes, is a terminal. */
export function stderrIsTty(): boolean {
  return isTerminal(2);
}

/** Progress lines (carriage returns, erase-line escapes): only on a terminal that understands them, never TERM=dumb. */
export function progressWanted(): boolean {
  return stderrIsTty() && process.env.TERM !== "dumb";
}

/** Binary output goes to a file or a pipe, never to a terminal it would garble. */
export function refuseBinaryOnTerminal(outFile: string | undefined): void {
  if ((outFile === undefined || outFile === "-") && isTerminal(1))
    throw new InputError("binary output; use -o FILE or a pipe");
}
