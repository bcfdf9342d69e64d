// Fleet input for matrix and baseline: files, directories (their *.json and *.ndjson files), globs,
// and "-" for stdin, where captures come one per line (NDJSON) or as whole `cpuprof host --json`
// outputs one after another. Everything streams through a CaptureSet, which deduplicates by content
// before parsing, so memory follows the distinct captures and not the size of the fleet.
import { closeSync, openSync, readdirSync, readSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { InputError } from "../errors.ts";
import { CaptureSet } from "../fleet/capture-set.ts";
import { loadHostFile } from "../formats/host-file.ts";
import { printable } from "../model/document.ts";
import { decodeInput, errnoText, inputName, readInputBytes, progressWanted, writeProgress } from "./io.ts";

/** The largest single capture document (as for files). */
export const MAX_DOCUMENT_BYTES = 8 * 1024 * 1024;
const CHUNK_BYTES = 4 * 1024 * 1024;
const GLOB_CHARS = /[*?[{]/;
const DOCUMENT_FILE = /\.(json|ndjson|jsonl)$/;
const MULTI_DOCUMENT_FILE = /\.(ndjson|jsonl)$/;

/** Progress on stderr, only when it is a terminal (not TERM=dumb), at most ten times a second. */
export class Progress {
  readonly #on = progressWanted();
  #last = Number.NEGATIVE_INFINITY;
  #shown = false;

  update(text: () => string): void {
    if (!this.#on) return;
    const now = performance.now();
    if (now - this.#last < 100) return;
    this.#last = now;
    this.#shown = true;
    writeProgress(`\r\x1b[K${text()}`);
  }

  done(): void {
    if (this.#shown) writeProgress("\r\x1b[K");
    this.#shown = false;
  }
}

/**
 * Splits a byte stream into JSON documents: a line that starts with "{" and ends with "}" is one
 * (NDJSON); otherwise a document runs to the next line that is exactly "}" (pretty JSON as
 * cpuprof writes it). Blank lines are skipped.
 */
export class DocumentSplitter {
  #buf = Buffer.allocUnsafe(CHUNK_BYTES);
  #len = 0;
  static readonly #END = Buffer.from("\n}");

  constructor(readonly source: string) {}

  /** Appends bytes and calls `each` for every complete document (the view is valid only during the call). */
  push(chunk: Uint8Array, each: (doc: Uint8Array) => void): void {
    if (this.#len + chunk.byteLength > this.#buf.byteLength) {
      const grown = Buffer.allocUnsafe(Math.max(this.#buf.byteLength * 2, this.#len + chunk.byteLength));
      this.#buf.copy(grown, 0, 0, this.#len);
      this.#buf = grown;
    }
    this.#buf.set(chunk, this.#len);
    this.#len += chunk.byteLength;
    const used = this.#scan(false, each);
    this.#buf.copy(this.#buf, 0, used, this.#len);
    this.#len -= used;
  }

  /** The end of the stream: the last document may lack its final newline. */
  finish(each: (doc: Uint8Array) => void): void {
    this.#scan(true, each);
    this.#len = 0;
  }

  #scan(final: boolean, each: (doc: Uint8Array) => void): number {
    const buf = this.#buf,
      len = this.#len;
    let pos = 0;
    for (;;) {
      while (pos < len && isSpace(buf[pos]!)) pos++;
      if (pos >= len) return pos;
      let nl = buf.indexOf(10, pos);
      if (nl < 0 || nl >= len) {
        if (!final) return this.#pending(pos, len);
        nl = len;
      }
      let e = nl;
      while (e > pos && isSpace(buf[e - 1]!)) e--;
      if (buf[pos] === 0x7b && buf[e - 1] === 0x7d && e - pos > 1) {
        each(buf.subarray(pos, e));
        pos = nl + 1;
        continue;
      }
      // A pretty document: up to a line that is exactly "}".
      let end = -1;
      for (let from = pos; ; ) {
        const at = buf.indexOf(DocumentSplitter.#END, from);
        if (at < 0 || at + 2 > len) break;
        const after = at + 2;
        if (after === len ? final : buf[after] === 10 || buf[after] === 13) {
          end = after;
          break;
        }
        from = at + 1;
      }
      if (end < 0) {
        if (!final) return this.#pending(pos, len);
        throw new InputError(
          `${printable(this.source, 200)}: a capture does not end (expected one JSON document per line, or documents ending with a line "}")`,
        );
      }
      each(buf.subarray(pos, end));
      pos = end + 1;
    }
  }

  #pending(pos: number, len: number): number {
    if (len - pos > MAX_DOCUMENT_BYTES)
      throw new InputError(`${printable(this.source, 200)}: a capture larger than ${MAX_DOCUMENT_BYTES} bytes`);
    return pos;
  }
}

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

/** Streams a file descriptor through a splitter. */
function readDocuments(fd: number, source: string, each: (doc: Uint8Array, n: number) => void): void {
  const splitter = new DocumentSplitter(source);
  const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  let n = 0;
  const one = (doc: Uint8Array) => each(doc, ++n);
  for (;;) {
    let got: number;
    try {
      got = readSync(fd, chunk, 0, chunk.byteLength, null);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EAGAIN" || code === "EINTR") continue;
      if (code === "EOF") break;
      throw new InputError(`${printable(source, 200)}: cannot read (${errnoText(e)})`);
    }
    if (got === 0) break;
    splitter.push(chunk.subarray(0, got), one);
  }
  splitter.finish(one);
}

/** The files an argument names: itself, a directory's capture files, or a glob's matches (sorted). */
export function expandCaptureArg(arg: string, command: string): string[] {
  let isDir = false;
  try {
    isDir = statSync(arg).isDirectory();
  } catch {
    if (GLOB_CHARS.test(arg)) {
      const matches = [...new Bun.Glob(arg).scanSync({ cwd: ".", onlyFiles: true, dot: false })].sort();
      if (matches.length === 0) throw new InputError(`${command}: no file matches '${printable(arg, 200)}'`);
      return matches;
    }
    return [arg]; // readInputFile names the problem
  }
  if (!isDir) return [arg];
  const files = readdirSync(arg)
    .filter((f) => DOCUMENT_FILE.test(f))
    .sort()
    .map((f) => join(arg, f));
  if (files.length === 0)
    throw new InputError(`${command}: no capture files (*.json, *.ndjson) in directory '${printable(arg, 200)}'`);
  return files;
}

/**
 * Reads every capture the arguments name into a deduplicated set, with progress on a terminal.
 * Labels: a file's name without .json, `NAME:N` for the Nth document of an NDJSON file, `stdin:N`.
 */
export function readCaptures(args: readonly string[], command: string): CaptureSet {
  const set = new CaptureSet();
  const progress = new Progress();
  const shown = () => `${command}: reading captures: ${set.total} read, ${set.unique.length} unique`;
  const parse = (text: string, label: string) => loadHostFile(text, label);
  // Files go through the one input function (size cap, UTF-8 check); stdin and *.ndjson stream here.
  const parseChecked = (bytes: Uint8Array, label: string) => loadHostFile(decodeInput(bytes, label), label);
  let stdinUsed = false;
  for (const arg of args) {
    if (arg === "-") {
      if (stdinUsed) throw new InputError(`${command}: '-' (stdin) given more than once`);
      stdinUsed = true;
      readDocuments(0, "stdin", (doc, n) => {
        // Errors name the input first ("stdin: capture 3: ..."); the table row is "stdin:3".
        set.add(`stdin:${n}`, doc, (text) => parse(text, `stdin: capture ${n}`));
        progress.update(shown);
      });
      continue;
    }
    for (const file of expandCaptureArg(arg, command)) {
      if (MULTI_DOCUMENT_FILE.test(file)) {
        const name = basename(file).replace(MULTI_DOCUMENT_FILE, "");
        let fd: number;
        try {
          fd = openSync(file, "r");
        } catch (e) {
          throw new InputError(`${printable(file, 200)}: cannot read (${errnoText(e)})`);
        }
        try {
          readDocuments(fd, file, (doc, n) => {
            set.add(`${name}:${n}`, doc, (text) => parse(text, `${inputName(file)}: capture ${n}`));
            progress.update(shown);
          });
        } finally {
          closeSync(fd);
        }
      } else {
        const bytes = readInputBytes(file);
        set.add(inputName(file), bytes, (_text, label) => parseChecked(bytes, label));
        progress.update(shown);
      }
    }
  }
  progress.done();
  if (set.total === 0) throw new InputError(`${command}: no captures read`);
  return set;
}

/** Labels for the unique captures: file names without .json when those are distinct, else the paths as given; terminal-safe. */
export function captureLabels(set: CaptureSet): string[] {
  const labels = set.unique.map((u) => u.label);
  const bases = labels.map((l) => (l.includes("/") ? basename(l) : l).replace(/\.json$/, ""));
  return (new Set(bases).size === bases.length ? bases : labels).map((l) => printable(l, 120));
}
