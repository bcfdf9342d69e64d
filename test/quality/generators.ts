// Fuzz generators shared by test/quality/fuzz.test.ts (bounded runs) and scripts/fuzz.ts (10,000 cases):
// seed documents for every input parser (real fixtures when ../shared/fixtures is there, else
// synthetic ones built from the embedded profiles), mutations of them (delete/replace a JSON node,
// wrong types, huge numbers, hex strings out of range / upper-case / padded, duplicate leaves and keys,
// deep nesting, truncation, binary garbage, 10 MB files), command lines, and the property every
// case must hold: it parses, or it throws an InputError whose message is one terminal-safe line
// naming the file (and a JSON path for structure errors).
import fc from "fast-check";
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { CpuprofError, InputError } from "../../src/errors.ts";
import { embeddedProfile, embeddedProfileNames } from "../../src/embedded/profiles.ts";
import { exportChv, importChv } from "../../src/formats/chv.ts";
import { exportFirecrackerTemplate, importFirecrackerTemplate } from "../../src/formats/firecracker-template.ts";
import { loadHostFile } from "../../src/formats/host-file.ts";
import { parseJsonText, printable } from "../../src/model/document.ts";
import { decodeInput } from "../../src/cli/io.ts";
import { hostToJson, serializeHost, type HostCapture } from "../../src/model/host.ts";
import { parseProfile, serializeProfile } from "../../src/model/profile.ts";

export const FIXTURES_DIR = resolve(import.meta.dir, "../../../shared/fixtures");
export const fixturesMissing: string | undefined = existsSync(join(FIXTURES_DIR, "hosts/firecracker"))
  ? undefined
  : `fixtures not found at ${FIXTURES_DIR}`;

/** Which parser a document is for. */
export type Target = "profile" | "host" | "template" | "chv";

export interface Seed {
  target: Target;
  label: string;
  /** The document, already parsed (mutations work on the tree). */
  doc: unknown;
  /** chv only: the companion MSR file. */
  msrDoc?: unknown;
}

const readJson = (path: string): unknown => JSON.parse(readFileSync(path, "utf8"));

/** A small synthetic host (GenuineIntel) so every target has seeds without the fixtures. */
function syntheticHost(): HostCapture {
  const e = (fn: number, index: number, eax: number, ebx = 0, ecx = 0, edx = 0, flags = 0) => ({
    function: fn,
    index,
    flags,
    eax,
    ebx,
    ecx,
    edx,
  });
  return {
    source: "kvm",
    vendor: "intel",
    vendorString: "GenuineIntel",
    family: 6,
    model: 85,
    stepping: 4,
    brand: "Intel(R) Xeon(R) Synthetic CPU @ 2.50GHz",
    kernel: "6.1.0-fuzz",
    microcode: "0x2007006",
    kvm: {
      apiVersion: 12,
      capabilities: { GET_MSR_FEATURES: 1, X86_USER_SPACE_MSR: 1, X86_MSR_FILTER: 1, ENFORCE_PV_FEATURE_CPUID: 1 },
    },
    cpuid: [
      e(0, 0, 0xd, 0x756e6547, 0x6c65746e, 0x49656e69),
      e(1, 0, 0x50654, 0x800, 0xfffa3203, 0x178bfbff),
      e(7, 0, 0, 0xd19ffffb, 0xc, 0xbc000400, 1),
      e(0xd, 0, 0x2e7, 0xa88, 0xa88, 0, 1),
      e(0xd, 1, 0xf, 0, 0, 0, 1),
      e(0x80000000, 0, 0x80000008),
      e(0x80000001, 0, 0, 0, 0x121, 0x2c100800),
    ],
    featureMsrs: [
      { index: 0x10a, value: 0x2000e0bn },
      { index: 0x345, value: 0x33c5n },
    ],
    msrIndexList: [0x10, 0x1b, 0x3a, 0x10a, 0x174, 0x175, 0x176, 0xc0000080],
  };
}

const bits = (n: bigint, width: number) => `0b${n.toString(2).padStart(width, "0")}`;

/** A Firecracker fingerprint with the same CPUID and MSRs as `h`. */
function fingerprintOf(h: HostCapture): object {
  return {
    firecracker_version: "1.16.0-dev",
    kernel_version: h.kernel ?? "",
    microcode_version: h.microcode ?? "",
    guest_cpu_config: {
      kvm_capabilities: [],
      cpuid_modifiers: h.cpuid.map((e) => ({
        leaf: `0x${e.function.toString(16)}`,
        subleaf: `0x${e.index.toString(16)}`,
        flags: e.flags,
        modifiers: (["eax", "ebx", "ecx", "edx"] as const).map((register) => ({
          register,
          bitmap: bits(BigInt(e[register] >>> 0), 32),
        })),
      })),
      msr_modifiers: h.featureMsrs.map((m) => ({ addr: `0x${m.index.toString(16)}`, bitmap: bits(m.value, 64) })),
    },
  };
}

let seedCache: Seed[] | undefined;

/** Every seed document: embedded profiles, synthetic documents, and the real fixtures when present. */
export function loadSeeds(): Seed[] {
  if (seedCache) return seedCache;
  const seeds: Seed[] = [];
  for (const name of embeddedProfileNames()) {
    const p = embeddedProfile(name)!;
    seeds.push({ target: "profile", label: `embedded:${name}`, doc: JSON.parse(serializeProfile(p)) });
    if (p.kind === "profile") {
      const chv = exportChv(p);
      seeds.push({
        target: "chv",
        label: `chv-export:${name}`,
        doc: JSON.parse(chv.cpuid),
        msrDoc: JSON.parse(chv.msr),
      });
      seeds.push({
        target: "template",
        label: `template-export:${name}`,
        doc: JSON.parse(exportFirecrackerTemplate(p)),
      });
    }
  }
  const synth = syntheticHost();
  seeds.push({ target: "host", label: "synthetic:own", doc: JSON.parse(serializeHost(synth)) });
  const fp = fingerprintOf(synth);
  seeds.push({ target: "host", label: "synthetic:fingerprint", doc: fp });
  seeds.push({ target: "host", label: "synthetic:dump", doc: (fp as { guest_cpu_config: unknown }).guest_cpu_config });
  if (!fixturesMissing) {
    const hostsDir = join(FIXTURES_DIR, "hosts/firecracker");
    for (const f of readdirSync(hostsDir)
      .filter((f) => f.endsWith(".json"))
      .sort()) {
      const doc = readJson(join(hostsDir, f)) as { guest_cpu_config: unknown };
      seeds.push({ target: "host", label: `fixture:${f}`, doc });
      seeds.push({ target: "host", label: `fixture-dump:${f}`, doc: doc.guest_cpu_config });
      seeds.push({ target: "host", label: `fixture-own:${f}`, doc: hostToJson(loadHostFile(JSON.stringify(doc), f)) });
    }
    const tplDir = join(FIXTURES_DIR, "firecracker-templates");
    if (existsSync(tplDir))
      for (const f of readdirSync(tplDir)
        .filter((f) => f.endsWith(".json") && f !== "schema.json")
        .sort())
        seeds.push({ target: "template", label: `fixture:${f}`, doc: readJson(join(tplDir, f)) });
    const chvDir = join(FIXTURES_DIR, "cloud-hypervisor");
    const chvMsr = chvMsrSeed(seeds);
    if (existsSync(chvDir))
      for (const f of readdirSync(chvDir)
        .filter((f) => f.endsWith(".json"))
        .sort())
        seeds.push({ target: "chv", label: `fixture:${f}`, doc: readJson(join(chvDir, f)), msrDoc: chvMsr });
  }
  seedCache = seeds;
  return seeds;
}

function chvMsrSeed(seeds: Seed[]): unknown {
  return seeds.find((s) => s.target === "chv")?.msrDoc;
}

// ---------------------------------------------------------------------------------------------
// Mutations of a JSON tree.

type Key = string | number;
type Path = Key[];

interface NodeRef {
  path: Path;
  value: unknown;
}

function walk(value: unknown, path: Path, out: NodeRef[]): void {
  out.push({ path, value });
  if (Array.isArray(value)) value.forEach((v, i) => walk(v, [...path, i], out));
  else if (value !== null && typeof value === "object")
    for (const [k, v] of Object.entries(value)) walk(v, [...path, k], out);
}

function nodesOf(doc: unknown): NodeRef[] {
  const out: NodeRef[] = [];
  walk(doc, [], out);
  return out;
}

function parentOf(doc: unknown, path: Path): { parent: unknown; key: Key } | undefined {
  if (path.length === 0) return undefined;
  let cur = doc;
  for (const k of path.slice(0, -1)) cur = (cur as Record<Key, unknown>)[k];
  return { parent: cur, key: path[path.length - 1]! };
}

/** Replaces the node at `path` (the root when empty); returns the new document. */
function setAt(doc: unknown, path: Path, value: unknown): unknown {
  const p = parentOf(doc, path);
  if (!p) return value;
  (p.parent as Record<Key, unknown>)[p.key] = value;
  return doc;
}

function deleteAt(doc: unknown, path: Path): unknown {
  const p = parentOf(doc, path);
  if (!p) return undefined; // deleting the root: an empty document
  if (Array.isArray(p.parent)) p.parent.splice(p.key as number, 1);
  else delete (p.parent as Record<string, unknown>)[p.key as string];
  return doc;
}

/** Values that break schemas: wrong types, huge and fractional numbers, malformed hex and bitmaps, control characters. */
export const nastyValue: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom<unknown>(
      null,
      true,
      false,
      0,
      -1,
      1.5,
      -0.5,
      2 ** 31,
      2 ** 32,
      2 ** 53 + 2,
      2 ** 64,
      1e308,
      -1e308,
      Number.MAX_SAFE_INTEGER,
      "",
      "0x",
      "0X1F",
      "0xABC",
      "0xabC",
      "0x0001",
      "0x00000000",
      "0x1ffffffff",
      "0x10000000000000000",
      `0x${"f".repeat(17)}`,
      `0x${"f".repeat(200)}`,
      "-0x1",
      " 0x1",
      "0x1 ",
      "0x1\n",
      "0xg",
      "1e3",
      "12",
      "0b",
      `0b${"2".repeat(32)}`,
      `0b${"1".repeat(33)}`,
      `0b${"x".repeat(32)}`,
      `0b${"1".repeat(64)}`,
      `0b${"_".repeat(64)}`,
      `0b${"1".repeat(31)}`,
      "EAX",
      "eax",
      "Intel",
      "AMD",
      "intel",
      "cpuprof-host",
      "cpuprof-profile",
      "GenuineIntel",
      "\u001b[31mred\u001b[0m",
      "a\u202eb",
      "a\rb",
      "x\u0000y",
      "\ud800",
      [],
      {},
      [[[]]],
      { leaf: "0x0" },
      [null],
      ["0x1", "0x1"],
    ),
  },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
  {
    weight: 1,
    arbitrary: fc.oneof(
      fc.integer(),
      fc.double({ noNaN: true }),
      fc.bigInt({ min: 0n, max: 1n << 70n }).map((b) => `0x${b.toString(16)}`),
    ),
  },
);

/** Raw JSON text spliced in where a node was: things JSON.stringify cannot write. */
export const rawText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    "1e400",
    "-1e400",
    "-0",
    "123456789012345678901234567890",
    "0.000000000000000000001",
    "1E2",
    '"\\ud800"',
    '"\\u0000"',
    '"\\u001b[2J"',
  ),
  fc
    .record({ depth: fc.integer({ min: 10, max: 20_000 }), open: fc.constantFrom("[", '{"a":', '{"leaf":[') })
    .map(({ depth, open }) => {
      const close = open === "[" ? "]" : open === '{"a":' ? "}" : "]}";
      return `${open.repeat(depth)}0${close.repeat(depth)}`;
    }),
  fc.integer({ min: 1000, max: 200_000 }).map((n) => JSON.stringify("a".repeat(n))),
);

export type JsonOp =
  | { kind: "delete"; at: number }
  | { kind: "replace"; at: number; value: unknown }
  | { kind: "hex"; at: number; how: HexTweak }
  | { kind: "dupElement"; at: number; pick: number }
  | { kind: "addKey"; at: number; key: string; value: unknown }
  | { kind: "dupKey"; at: number; pick: number; value: unknown }
  | { kind: "raw"; at: number; raw: string }
  | { kind: "revalue"; at: number; value: bigint };

type HexTweak =
  | "upper"
  | "pad"
  | "overflow"
  | "strip"
  | "negative"
  | "space"
  | "empty"
  | "prefixOnly"
  | "bitmapX"
  | "bitmapShort";

const at = fc.nat();
export const jsonOp: fc.Arbitrary<JsonOp> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("delete" as const), at }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("replace" as const), at, value: nastyValue }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("hex" as const),
      at,
      how: fc.constantFrom<HexTweak>(
        "upper",
        "pad",
        "overflow",
        "strip",
        "negative",
        "space",
        "empty",
        "prefixOnly",
        "bitmapX",
        "bitmapShort",
      ),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("dupElement" as const), at, pick: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("addKey" as const),
      at,
      key: fc.oneof(fc.constantFrom("extra", "__proto__", "format", "leaf", ""), fc.string({ maxLength: 8 })),
      value: nastyValue,
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("dupKey" as const), at, pick: fc.nat(), value: nastyValue }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("raw" as const), at, raw: rawText }) },
);

/** Mild mutations: a value of the same kind (hex of the same width, bitmap of the same length, small integer). */
export const revalueOp: fc.Arbitrary<JsonOp> = fc.record({
  kind: fc.constant("revalue" as const),
  at,
  value: fc.oneof(
    fc.bigInt({ min: 0n, max: 0xffn }),
    fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    fc.constantFrom(0n, 1n, 0xffffffffn, (1n << 64n) - 1n),
  ),
});

function revalue(old: unknown, value: bigint): unknown {
  if (typeof old === "number") return Number(value % 256n);
  if (typeof old !== "string") return old;
  if (/^0x[0-9a-f]+$/.test(old)) return `0x${(BigInt(old) > 0xffffffffn ? value : value & 0xffffffffn).toString(16)}`;
  if (/^0b[01x_]+$/.test(old)) {
    const alphabet = old.includes("x") ? "01x" : "01";
    let v = value;
    let out = "0b";
    for (const c of old.slice(2)) {
      if (c === "_") out += c;
      else {
        out += alphabet[Number(v % BigInt(alphabet.length))];
        v = v / BigInt(alphabet.length) + (v & 1n ? 0x9e3779b9n : 0n);
      }
    }
    return out;
  }
  return old;
}

function tweakHex(s: string, how: HexTweak): string {
  switch (how) {
    case "upper":
      return s.startsWith("0x")
        ? `0x${s.slice(2).toUpperCase()}${/[a-f]/.test(s.slice(2)) ? "" : "A"}`
        : s.toUpperCase();
    case "pad":
      return s.startsWith("0x") ? `0x000${s.slice(2)}` : `000${s}`;
    case "overflow":
      return `${s}00000000000000000`;
    case "strip":
      return s.replace(/^0[xXb]/, "");
    case "negative":
      return `-${s}`;
    case "space":
      return ` ${s} `;
    case "empty":
      return "";
    case "prefixOnly":
      return s.slice(0, 2);
    case "bitmapX":
      return s.startsWith("0b") ? `${s.slice(0, -1)}x` : `${s}x`;
    case "bitmapShort":
      return s.slice(0, -1);
  }
}

interface Applied {
  doc: unknown;
  raws: string[];
}

const RAW_MARK = (i: number) => `__FUZZ_RAW_${i}__`;

function applyOp(state: Applied, op: JsonOp): Applied {
  const nodes = nodesOf(state.doc);
  const pick = <T>(xs: T[], n: number): T | undefined => (xs.length ? xs[n % xs.length] : undefined);
  switch (op.kind) {
    case "delete": {
      const n = pick(nodes, op.at)!;
      return { ...state, doc: deleteAt(state.doc, n.path) };
    }
    case "replace": {
      const n = pick(nodes, op.at)!;
      return { ...state, doc: setAt(state.doc, n.path, structuredClone(op.value)) };
    }
    case "hex": {
      const n = pick(
        nodes.filter((x) => typeof x.value === "string"),
        op.at,
      );
      return n ? { ...state, doc: setAt(state.doc, n.path, tweakHex(n.value as string, op.how)) } : state;
    }
    case "dupElement": {
      const n = pick(
        nodes.filter((x) => Array.isArray(x.value) && x.value.length > 0),
        op.at,
      );
      if (!n) return state;
      const arr = n.value as unknown[];
      arr.splice(op.pick % arr.length, 0, structuredClone(arr[op.pick % arr.length]));
      return state;
    }
    case "addKey": {
      const n = pick(
        nodes.filter((x) => x.value !== null && typeof x.value === "object" && !Array.isArray(x.value)),
        op.at,
      );
      if (!n) return state;
      Object.defineProperty(n.value, op.key, {
        value: structuredClone(op.value),
        enumerable: true,
        configurable: true,
        writable: true,
      });
      return state;
    }
    case "dupKey": {
      const n = pick(
        nodes.filter(
          (x) =>
            x.value !== null &&
            typeof x.value === "object" &&
            !Array.isArray(x.value) &&
            Object.keys(x.value).length > 0,
        ),
        op.at,
      );
      if (!n) return state;
      const obj = n.value as Record<string, unknown>;
      const key = pick(Object.keys(obj), op.pick)!;
      // the repeated key comes first or last; JSON.parse keeps the last one
      const body = JSON.stringify(obj).slice(1, -1);
      const dup = `${JSON.stringify(key)}:${JSON.stringify(op.value ?? null)}`;
      const text = op.pick % 2 === 0 ? `{${dup},${body}}` : `{${body},${dup}}`;
      const raws = [...state.raws, text];
      return { raws, doc: setAt(state.doc, n.path, RAW_MARK(raws.length - 1)) };
    }
    case "revalue": {
      const n = pick(
        nodes.filter((x) => typeof x.value === "number" || (typeof x.value === "string" && /^0[xb]/.test(x.value))),
        op.at,
      );
      return n ? { ...state, doc: setAt(state.doc, n.path, revalue(n.value, op.value)) } : state;
    }
    case "raw": {
      const n = pick(nodes, op.at)!;
      const raws = [...state.raws, op.raw];
      return { raws, doc: setAt(state.doc, n.path, RAW_MARK(raws.length - 1)) };
    }
  }
}

/** Applies JSON ops to a copy of `doc` and serializes it (raw splices included). */
export function mutateDoc(doc: unknown, ops: readonly JsonOp[], indent: boolean): string {
  let state: Applied = { doc: structuredClone(doc), raws: [] };
  for (const op of ops) state = applyOp(state, op);
  let text = state.doc === undefined ? "" : JSON.stringify(state.doc, null, indent ? 2 : undefined);
  // splice raws last to first: a later raw may sit inside an earlier one's text
  for (let i = state.raws.length - 1; i >= 0; i--) text = text.split(JSON.stringify(RAW_MARK(i))).join(state.raws[i]!);
  return text;
}

export type TextOp =
  | { kind: "truncate"; at: number }
  | { kind: "insert"; at: number; s: string }
  | { kind: "cut"; at: number; len: number }
  | { kind: "flip"; at: number; code: number };

export const textOp: fc.Arbitrary<TextOp> = fc.oneof(
  fc.record({ kind: fc.constant("truncate" as const), at }),
  fc.record({
    kind: fc.constant("insert" as const),
    at,
    s: fc.oneof(
      fc.constantFrom(",", "]", "}", '"', "\\", "\u0000", "\ufeff", "{", ":"),
      fc.string({ unit: "binary", maxLength: 8 }),
    ),
  }),
  fc.record({ kind: fc.constant("cut" as const), at, len: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ kind: fc.constant("flip" as const), at, code: fc.integer({ min: 0, max: 0xffff }) }),
);

export function applyTextOp(text: string, op: TextOp): string {
  const i = text.length ? op.at % (text.length + 1) : 0;
  switch (op.kind) {
    case "truncate":
      return text.slice(0, i);
    case "insert":
      return text.slice(0, i) + op.s + text.slice(i);
    case "cut":
      return text.slice(0, i) + text.slice(i + op.len);
    case "flip":
      return text.slice(0, i) + String.fromCharCode(op.code) + text.slice(i + 1);
  }
}

// ---------------------------------------------------------------------------------------------
// Whole cases.

export interface FuzzCase {
  target: Target;
  /** How the case was made (printed with a failure). */
  how: string;
  file: string;
  text: string;
  /** chv only. */
  msrFile?: string;
  msrText?: string;
  vendor?: "intel" | "amd";
  /** The input as bytes (not UTF-8 text), read through the CLI's decoder; `text` is then unused. */
  bytes?: Uint8Array;
  /** Why this case must be refused (a duplicate key, invalid UTF-8), when it must. */
  mustRefuse?: string;
}

/** Byte sequences that are not UTF-8: a stray continuation, an overlong NUL, a truncated sequence, a surrogate, 0xff. */
const INVALID_UTF8: readonly number[][] = [
  [0x80],
  [0xc0, 0x80],
  [0xe2, 0x82],
  [0xed, 0xa0, 0x80],
  [0xff],
  [0xf5, 0x80, 0x80, 0x80],
  [0xe9],
];

/** File names: mostly plain, sometimes with spaces, unicode, control characters, or very long. */
export const fileName: fc.Arbitrary<string> = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom("case.json", "hosts/node-1.json", "/tmp/fuzz/profile.json") },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      "my host.json",
      "héte-ünïcode.json",
      "evil\nname.json",
      "evil\u001b[31m.json",
      "cr\rname.json",
      "rlo\u202ename.json",
      "nel\u0085.json",
      `${"x".repeat(300)}.json`,
    ),
  },
  { weight: 1, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 30 }) },
);

const TEN_MB = 10 * 1024 * 1024;

/** Very large documents: padding past the 8 MB limit, a huge array just under it, a 10 MB string. */
export type HugeKind = "pad10mb" | "array10mb" | "arrayUnderLimit" | "string10mb";

export function hugeText(doc: unknown, kind: HugeKind): string {
  const base = JSON.stringify(doc);
  switch (kind) {
    case "pad10mb":
      return base + " ".repeat(TEN_MB);
    case "string10mb":
      return withBigArray(doc, JSON.stringify("A".repeat(TEN_MB)), 1);
    case "array10mb":
      return withBigArray(doc, '"0x1"', Math.ceil(TEN_MB / 6));
    case "arrayUnderLimit":
      return withBigArray(doc, '"0x1f"', Math.floor((7.5 * 1024 * 1024) / 7));
  }
}

/** The document with its first array (or a new key, when it has none) holding `count` copies of `item`. */
function withBigArray(doc: unknown, item: string, count: number): string {
  const copy = structuredClone(doc) as Record<string, unknown>;
  const arr = nodesOf(copy).find((n) => Array.isArray(n.value) && n.path.length > 0);
  const mark = JSON.stringify(RAW_MARK(0));
  const big = `[${(`${item},`).repeat(count - 1)}${item}]`;
  if (arr) return JSON.stringify(setAt(copy, arr.path, RAW_MARK(0))).replace(mark, big);
  if (copy && typeof copy === "object" && !Array.isArray(copy)) {
    copy.big = RAW_MARK(0);
    return JSON.stringify(copy).replace(mark, big);
  }
  return big;
}

export interface CaseOptions {
  /** Weight of 10 MB documents among the cases (0: none). */
  hugeWeight?: number;
  /** Weight of mild (same-kind value) mutations, which mostly parse; default 6 of ~56. */
  mildWeight?: number;
}

/** Every kind of input case over the given seeds. */
export function fuzzCase(seeds: Seed[], options: CaseOptions = {}): fc.Arbitrary<FuzzCase> {
  const targets: Target[] = ["profile", "host", "template", "chv"];
  const seedIdx = fc.nat({ max: seeds.length - 1 });
  const target = fc.constantFrom(...targets);
  const chvExtras = fc.record({
    // which file of the pair is mutated; the other is the seed's (or absent)
    mutateMsr: fc.boolean(),
    withMsr: fc.boolean(),
    vendor: fc.constantFrom<"intel" | "amd" | undefined>("intel", "amd", undefined),
  });

  const mutated = fc
    .record({
      seed: seedIdx,
      ops: fc.array(jsonOp, { minLength: 1, maxLength: 3 }),
      textOps: fc.array(textOp, { maxLength: 1 }),
      indent: fc.boolean(),
      file: fileName,
      chv: chvExtras,
      crossTarget: fc.option(target, { freq: 8 }),
    })
    .map(({ seed, ops, textOps, indent, file, chv, crossTarget }) => {
      const s = seeds[seed]!;
      const useMsr = s.target === "chv" && chv.withMsr && chv.mutateMsr && s.msrDoc !== undefined;
      let text = mutateDoc(useMsr ? s.msrDoc : s.doc, ops, indent);
      for (const t of textOps) text = applyTextOp(text, t);
      const how = `mutated ${s.label}${useMsr ? " (msr file)" : ""}: ${describeOps(ops)}${textOps.length ? ` then ${JSON.stringify(textOps)}` : ""}`;
      // now and then a document goes to the wrong parser (a profile given as a host, ...)
      const t = crossTarget ?? s.target;
      return makeCase(t, how, file, text, s, chv, useMsr);
    });

  const whole = fc
    .record({
      target,
      file: fileName,
      seed: seedIdx,
      chv: chvExtras,
      text: fc.oneof(
        fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v) ?? ""),
        fc.uint8Array({ maxLength: 2048 }).map((b) => new TextDecoder().decode(b)),
        fc.uint8Array({ maxLength: 2048 }).map((b) => String.fromCharCode(...b)),
        fc.string({ unit: "binary", maxLength: 200 }),
        fc.constantFrom(
          "",
          " ",
          "null",
          "[]",
          "{}",
          "0",
          '""',
          "true",
          "\ufeff{}",
          '{"format":',
          "[".repeat(100_000),
          '{"a":'.repeat(50_000),
        ),
      ),
    })
    .map(({ target, file, seed, chv, text }) =>
      makeCase(target, "whole-document garbage", file, text, seeds[seed]!, chv, false),
    );

  const mild = fc
    .record({ seed: seedIdx, ops: fc.array(revalueOp, { minLength: 1, maxLength: 6 }), file: fileName, chv: chvExtras })
    .map(({ seed, ops, file, chv }) => {
      const s = seeds[seed]!;
      return makeCase(
        s.target,
        `revalued ${s.label}: ${describeOps(ops)}`,
        file,
        mutateDoc(s.doc, ops, false),
        s,
        chv,
        false,
      );
    });

  const valid = fc.record({ seed: seedIdx, file: fileName, chv: chvExtras }).map(({ seed, file, chv }) => {
    const s = seeds[seed]!;
    return makeCase(s.target, `unchanged ${s.label}`, file, JSON.stringify(s.doc), s, chv, false);
  });

  // a seed's bytes with a sequence that is not UTF-8 inserted anywhere
  const badUtf8 = fc
    .record({ seed: seedIdx, at: fc.nat(), bad: fc.constantFrom(...INVALID_UTF8), file: fileName, chv: chvExtras })
    .map(({ seed, at, bad, file, chv }) => {
      const s = seeds[seed]!;
      const good = new TextEncoder().encode(JSON.stringify(s.doc));
      const i = at % (good.length + 1);
      const bytes = new Uint8Array([...good.subarray(0, i), ...bad, ...good.subarray(i)]);
      return {
        ...makeCase(
          s.target,
          `invalid UTF-8 ${JSON.stringify(bad)} at byte ${i} of ${s.label}`,
          file,
          "",
          s,
          chv,
          false,
        ),
        bytes,
        mustRefuse: "invalid UTF-8",
      };
    });

  // a seed with one of its objects' keys written twice (JSON.parse would keep the last silently)
  const duplicateKey = fc
    .record({
      seed: seedIdx,
      op: fc.record({ kind: fc.constant("dupKey" as const), at, pick: fc.nat(), value: nastyValue }),
      file: fileName,
      chv: chvExtras,
    })
    .map(({ seed, op, file, chv }) => {
      const s = seeds[seed]!;
      const text = mutateDoc(s.doc, [op], false);
      const changed = text !== JSON.stringify(s.doc);
      return {
        ...makeCase(s.target, `duplicate key in ${s.label}: ${describeOps([op])}`, file, text, s, chv, false),
        ...(changed ? { mustRefuse: "a duplicate key" } : {}),
      };
    });

  const arbs: fc.WeightedArbitrary<FuzzCase>[] = [
    { weight: 40, arbitrary: mutated },
    { weight: 3, arbitrary: badUtf8 },
    { weight: 3, arbitrary: duplicateKey },
    { weight: 8, arbitrary: whole },
    { weight: options.mildWeight ?? 6, arbitrary: mild },
    { weight: 2, arbitrary: valid },
  ];
  if (options.hugeWeight)
    arbs.push({
      weight: options.hugeWeight,
      arbitrary: fc
        .record({
          seed: seedIdx,
          kind: fc.constantFrom<HugeKind>("pad10mb", "array10mb", "arrayUnderLimit", "string10mb"),
          chv: chvExtras,
        })
        .map(({ seed, kind, chv }) => {
          const s = seeds[seed]!;
          return makeCase(s.target, `huge ${kind} of ${s.label}`, "huge.json", hugeText(s.doc, kind), s, chv, false);
        }),
    });
  return fc.oneof(...arbs);
}

function describeOps(ops: readonly JsonOp[]): string {
  return ops
    .map((o) => {
      const short = { ...o } as Record<string, unknown>;
      if (typeof short.raw === "string" && short.raw.length > 60)
        short.raw = `${short.raw.slice(0, 60)}…(${(o as { raw: string }).raw.length} chars)`;
      return JSON.stringify(short, (_, v) => (typeof v === "bigint" ? `0x${v.toString(16)}` : v));
    })
    .join(", ");
}

function makeCase(
  target: Target,
  how: string,
  file: string,
  text: string,
  seed: Seed,
  chv: { withMsr: boolean; vendor: "intel" | "amd" | undefined },
  textIsMsr: boolean,
): FuzzCase {
  if (target !== "chv") return { target, how, file, text, vendor: chv.vendor ?? "intel" };
  const seedMsr = seed.msrDoc === undefined ? undefined : JSON.stringify(seed.msrDoc);
  if (textIsMsr)
    return {
      target,
      how,
      file: "cpuid.json",
      text: JSON.stringify(seed.doc),
      msrFile: file,
      msrText: text,
      vendor: chv.vendor,
    };
  return {
    target,
    how,
    file,
    text,
    ...(chv.withMsr && seedMsr !== undefined ? { msrFile: "msr.json", msrText: seedMsr } : {}),
    vendor: chv.vendor,
  };
}

/** Runs the parser a case is for; throws what the parser throws. */
export function parseCase(c: FuzzCase): unknown {
  if (c.bytes) c = { ...c, text: decodeInput(c.bytes, printable(c.file, 200)) };
  switch (c.target) {
    case "profile":
      return parseProfile(parseJsonText(c.text, c.file), c.file);
    case "host":
      return loadHostFile(c.text, c.file);
    case "template":
      return importFirecrackerTemplate(c.text, c.file, { vendor: c.vendor ?? "intel", name: "fuzz-template" });
    case "chv":
      return importChv(c.text, c.msrText, {
        name: "fuzz-chv",
        cpuidFile: c.file,
        msrFile: c.msrFile,
        vendor: c.vendor,
      });
  }
}

/** Control characters and bidi overrides: nothing from input may put these on a terminal. */
export const UNSAFE_CHARS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

/** Why `e` is not an acceptable error for input naming `files`, or undefined when it is. */
export function errorProblem(e: unknown, files: readonly string[]): string | undefined {
  if (!(e instanceof InputError) || e.exitCode !== 2) {
    const err = e as Error;
    return `threw ${err?.constructor?.name ?? typeof e} (not an InputError): ${String(err?.stack ?? err).slice(0, 1500)}`;
  }
  const msg = e.message;
  if (UNSAFE_CHARS.test(msg)) return `message has a newline or control character: ${JSON.stringify(msg.slice(0, 400))}`;
  if (msg.length > 2000) return `message is ${msg.length} characters long`;
  if (/\bat .*:\d+:\d+/.test(msg)) return `message looks like a stack trace: ${JSON.stringify(msg.slice(0, 400))}`;
  const named = files.map((f) => `${printable(f, 200)}: `).find((prefix) => msg.startsWith(prefix));
  if (named === undefined) return `message does not start with the file name: ${JSON.stringify(msg.slice(0, 400))}`;
  const rest = msg.slice(named.length);
  if (!/^(not valid JSON|not valid UTF-8|larger than|not a host capture)/.test(rest) && !/\$(?=[.[:\s]|$)/.test(rest))
    return `structure error without a JSON path: ${JSON.stringify(msg.slice(0, 400))}`;
  return undefined;
}

/** The property: the case parses, or fails with an acceptable InputError (else `problem` says why not). */
export function checkCase(c: FuzzCase): { parsed: boolean; problem?: string } {
  try {
    parseCase(c);
    return c.mustRefuse ? { parsed: true, problem: `parsed although it has ${c.mustRefuse}` } : { parsed: true };
  } catch (e) {
    const problem = errorProblem(e, c.msrFile ? [c.file, c.msrFile] : [c.file]);
    return problem === undefined ? { parsed: false } : { parsed: false, problem };
  }
}

/** A case, shortened for a failure report. */
export function showCase(c: FuzzCase): string {
  const clip = (s: string | undefined) =>
    s === undefined ? undefined : s.length > 600 ? `${s.slice(0, 600)}…(${s.length} chars)` : s;
  return JSON.stringify({
    ...c,
    text: clip(c.text),
    msrText: clip(c.msrText),
    bytes: c.bytes ? `${c.bytes.length} bytes` : undefined,
  });
}

// ---------------------------------------------------------------------------------------------
// Command lines, run in-process with stdout/stderr sent to /dev/null.

/** Tokens that stand for files the runner prepares. */
export const CLI_FILE_TOKENS = ["@IN", "@IN2", "@OUT", "@DIR", "@MISSING"] as const;

export interface CliCase {
  argv: string[];
  /** Content of @IN (and @IN2, a valid or mutated second document). */
  input: FuzzCase;
  input2: string;
  /** What @IN is: a file, a link to it, stdin (`-` or /dev/stdin, a pipe), a device, a directory. */
  inputKind: InputKind;
  /** What @OUT is: a new or existing file, a link, stdout, a device node, a path that cannot be written. */
  outputKind: OutputKind;
}

export const INPUT_KINDS = ["file", "symlink", "stdin", "dev-stdin", "dev-zero", "dev-null", "directory"] as const;
export type InputKind = (typeof INPUT_KINDS)[number];
export const OUTPUT_KINDS = [
  "new",
  "existing-0600",
  "symlink",
  "dangling-symlink",
  "stdout",
  "null-device",
  "full-device",
  "missing-dir",
  "directory",
] as const;
export type OutputKind = (typeof OUTPUT_KINDS)[number];

const OPTIONS = [
  "--name",
  "--host",
  "--from",
  "-o",
  "--json",
  "--vendor",
  "--allow",
  "--description",
  "--strict",
  "--format",
  "--profile",
  "--profiles",
  "--to",
  "--vcpus",
  "--vcpu-id",
  "--msr-filter",
  "--nested",
  "--hyperv",
  "--",
  "-",
  "--bogus",
  "-x",
  "--name=",
  "--format=kvm-cpuid2",
  "--format=xml",
  "--vcpus=0",
  "--vcpu-id=0x10",
  "-oj",
];

const VALUES = [
  ...CLI_FILE_TOKENS,
  ...CLI_FILE_TOKENS,
  "skylake",
  "host",
  "epyc-genoa",
  "sapphire-rapids",
  "intel",
  "amd",
  "chv",
  "firecracker",
  "json",
  "text",
  "kvm-cpuid2",
  "kvm-msrs",
  "msr-filter",
  "qemu",
  "on",
  "off",
  "0",
  "1",
  "-1",
  "0x10",
  "4097",
  "99999999999999999999",
  "my-profile",
  "Bad_Name",
  "a".repeat(70),
  "kvm-runtime",
  "hypervisor",
  "",
];

/** Random tokens never hold '/', so a write they name stays inside the runner's working directory. */
const safeToken = fc.string({ unit: "binary", maxLength: 12 }).map((s) => s.replaceAll("/", "_").replaceAll(".", "_"));

export function cliCase(seeds: Seed[], commandNames: readonly string[]): fc.Arbitrary<CliCase> {
  const token = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...OPTIONS) },
    { weight: 5, arbitrary: fc.constantFrom(...VALUES) },
    { weight: 1, arbitrary: safeToken },
  );
  const first = fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom(...commandNames) },
    { weight: 1, arbitrary: fc.constantFrom("help", "--help", "-V", "--version", "nope", "-o", "") },
    { weight: 1, arbitrary: safeToken },
  );
  const random = fc
    .record({ first, rest: fc.array(token, { maxLength: 7 }), input: fuzzCase(seeds, { mildWeight: 20 }) })
    .map(({ first, rest, input }) => ({ argv: [first, ...rest], input }));
  // the usual command lines with @IN of the kind the command expects, mostly mildly mutated,
  // so that the commands get past argument parsing and loading into their real work
  const inputs = new Map<Target, fc.Arbitrary<FuzzCase>>();
  for (const t of ["profile", "host", "template", "chv"] as const) {
    const of = seeds.filter((s) => s.target === t);
    inputs.set(t, fuzzCase(of.length ? of : seeds, { mildWeight: 60 }));
  }
  const usual = fc
    .record({
      line: fc.constantFrom(...USUAL_LINES),
      extra: fc.oneof({ weight: 4, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: token }),
    })
    .chain(({ line, extra }) =>
      inputs
        .get(line.input)!
        .map((input) => ({ argv: extra === null ? [...line.argv] : [...line.argv, extra], input })),
    );
  const second = seeds.filter((s) => s.target === "host" || s.target === "profile");
  return fc
    .record({
      line: fc.oneof({ weight: 1, arbitrary: random }, { weight: 3, arbitrary: usual }),
      second: fc.nat({ max: second.length - 1 }),
    })
    .chain(({ line, second: i }) =>
      fc
        .record({
          inputKind: fc.oneof(
            { weight: 12, arbitrary: fc.constant<InputKind>("file") },
            { weight: 6, arbitrary: fc.constantFrom(...INPUT_KINDS) },
          ),
          outputKind: fc.oneof(
            { weight: 6, arbitrary: fc.constant<OutputKind>("new") },
            { weight: 9, arbitrary: fc.constantFrom(...OUTPUT_KINDS) },
          ),
        })
        .map((kinds) => ({ argv: line.argv, input: line.input, input2: JSON.stringify(second[i]!.doc), ...kinds })),
    );
}

const USUAL_LINES: readonly { input: Target; argv: string[] }[] = [
  { input: "profile", argv: ["show", "@IN"] },
  { input: "profile", argv: ["show", "@IN", "--json"] },
  { input: "host", argv: ["host", "--from", "@IN"] },
  { input: "host", argv: ["host", "--from", "@IN", "-o", "@OUT"] },
  { input: "host", argv: ["generate", "--name", "fuzz", "--host", "@IN", "-o", "@OUT"] },
  { input: "host", argv: ["generate", "--name", "fuzz", "--host", "@IN", "--strict"] },
  { input: "profile", argv: ["apply", "@IN", "--host", "@IN2"] },
  { input: "host", argv: ["apply", "skylake", "--host", "@IN", "--format", "kvm-cpuid2", "-o", "@OUT"] },
  { input: "host", argv: ["apply", "host", "--host", "@IN", "--json"] },
  { input: "profile", argv: ["apply", "@IN", "--json"] },
  { input: "host", argv: ["check-migration", "--from", "@IN", "--to", "@IN2"] },
  { input: "host", argv: ["check-migration", "--from", "@IN2", "--to", "@IN", "--profile", "skylake"] },
  { input: "profile", argv: ["check-migration", "--from", "@IN2", "--to", "@IN2", "--profile", "@IN"] },
  { input: "profile", argv: ["diff", "@IN", "@IN2"] },
  { input: "host", argv: ["diff", "@IN2", "@IN", "--json"] },
  { input: "host", argv: ["baseline", "@IN", "@IN2", "--name", "fuzz", "-o", "@OUT"] },
  { input: "host", argv: ["matrix", "@IN", "@IN2"] },
  { input: "profile", argv: ["matrix", "@IN2", "--profiles", "@IN"] },
  { input: "chv", argv: ["import", "chv", "@IN", "--name", "fuzz", "--vendor", "intel", "-o", "@OUT"] },
  { input: "chv", argv: ["import", "chv", "@IN", "--name", "fuzz"] },
  { input: "template", argv: ["import", "firecracker", "@IN", "--name", "fuzz", "--vendor", "amd", "-o", "@OUT"] },
  { input: "profile", argv: ["export", "chv", "@IN", "@DIR"] },
  { input: "profile", argv: ["export", "firecracker", "@IN", "-o", "@OUT"] },
  { input: "profile", argv: ["verify", "@IN", "--host", "@IN2"] },
  { input: "host", argv: ["verify", "skylake", "--host", "@IN", "--json"] },
];

export interface CliOutcome {
  /** main's return value, or the exit code of the CpuprofError it threw. */
  code: number;
  error?: unknown;
}

/** A scratch directory with the case's files; the caller chdirs into it. */
export function prepareCliDir(): string {
  return mkdtempSync(join(tmpdir(), "cpuprof-fuzz-cli-"));
}

/** A command line ready to run: argv, what stdin holds, and the checks on @OUT afterwards. */
export interface ResolvedCli {
  argv: string[];
  stdin?: Uint8Array;
  /** Why the output target is not as it must be after the run, or undefined. */
  after: () => string | undefined;
}

const isRoot = process.getuid?.() === 0;

/** A device node in the scratch directory (never /dev itself: a regression must not replace the machine's devices). */
function deviceNode(dir: string, name: string, minor: number): string | undefined {
  const path = join(dir, name);
  if (!existsSync(path)) {
    if (!isRoot) return undefined;
    if (Bun.spawnSync(["mknod", "-m", "666", path, "c", "1", String(minor)]).exitCode !== 0) return undefined;
  }
  return path;
}

export function resolveCli(c: CliCase, dir: string): ResolvedCli {
  const inFile = join(dir, "in.json");
  const out = join(dir, "out.json");
  for (const f of ["out.json", "out-link.json", "dangling-target.json"])
    rmSync(join(dir, f), { force: true, recursive: true });
  rmSync(join(dir, "in-link.json"), { force: true });
  writeFileSync(inFile, c.input.bytes ?? c.input.text);
  writeFileSync(join(dir, "in2.json"), c.input2);
  mkdirSync(join(dir, "subdir"), { recursive: true });

  let stdin: Uint8Array | undefined;
  let inPath = inFile;
  switch (c.inputKind) {
    case "file":
      break;
    case "symlink":
      symlinkSync("in.json", join(dir, "in-link.json"));
      inPath = join(dir, "in-link.json");
      break;
    case "stdin":
    case "dev-stdin":
      stdin = c.input.bytes ?? new TextEncoder().encode(c.input.text);
      inPath = c.inputKind === "stdin" ? "-" : "/dev/stdin";
      break;
    case "dev-zero":
      inPath = "/dev/zero"; // reading a device is safe; it is never written
      break;
    case "dev-null":
      inPath = "/dev/null";
      break;
    case "directory":
      inPath = join(dir, "subdir");
      break;
  }

  let outPath = out;
  let after: () => string | undefined = () => undefined;
  switch (c.outputKind) {
    case "new":
      break;
    case "existing-0600":
      writeFileSync(out, "previous\n");
      chmodSync(out, 0o600);
      after = () =>
        (statSync(out).mode & 0o7777) === 0o600
          ? undefined
          : `mode of an existing -o file changed to ${(statSync(out).mode & 0o7777).toString(8)}`;
      break;
    case "symlink":
      writeFileSync(out, "previous\n");
      symlinkSync("out.json", join(dir, "out-link.json"));
      outPath = join(dir, "out-link.json");
      after = () =>
        lstatSync(outPath).isSymbolicLink() ? undefined : "-o replaced a symlink instead of writing through it";
      break;
    case "dangling-symlink":
      symlinkSync("dangling-target.json", join(dir, "out-link.json"));
      outPath = join(dir, "out-link.json");
      after = () =>
        lstatSync(outPath).isSymbolicLink()
          ? undefined
          : "-o replaced a dangling symlink instead of creating its target";
      break;
    case "stdout":
      outPath = "-";
      break;
    case "null-device":
    case "full-device": {
      const node = deviceNode(
        dir,
        c.outputKind === "null-device" ? "null-node" : "full-node",
        c.outputKind === "null-device" ? 3 : 7,
      );
      if (node !== undefined) {
        outPath = node;
        after = () => (lstatSync(node).isCharacterDevice() ? undefined : `-o replaced the device node ${node}`);
      }
      break;
    }
    case "missing-dir":
      outPath = join(dir, "no/such/dir/out.json");
      break;
    case "directory":
      outPath = join(dir, "subdir");
      after = () => (lstatSync(outPath).isDirectory() ? undefined : "-o replaced a directory");
      break;
  }
  const map: Record<string, string> = {
    "@IN": inPath,
    "@IN2": join(dir, "in2.json"),
    "@OUT": outPath,
    "@DIR": dir,
    "@MISSING": join(dir, "missing.json"),
  };
  const argv = c.argv.map((a) => (Object.hasOwn(map, a) ? map[a]! : a));
  return {
    argv,
    ...(stdin ? { stdin } : {}),
    after: () => {
      const left = readdirSync(dir).filter((f) => f.includes(".cpuprof-tmp"));
      if (left.length) return `temporary files left behind: ${left.join(", ")}`;
      return after();
    },
  };
}

/** Why a CLI outcome is wrong, or undefined. Files named by the error may be any argument. */
export function cliProblem(o: CliOutcome, argv: readonly string[]): string | undefined {
  if (o.error === undefined) return [0, 1, 2, 3, 4].includes(o.code) ? undefined : `main returned ${o.code}`;
  const e = o.error;
  if (!(e instanceof CpuprofError)) {
    const err = e as Error;
    return `main threw ${err?.constructor?.name ?? typeof e}: ${String(err?.stack ?? err).slice(0, 1500)}`;
  }
  if (UNSAFE_CHARS.test(e.message))
    return `error message has a newline or control character: ${JSON.stringify(e.message.slice(0, 400))}`;
  if (e.message.length > 2000) return `error message is ${e.message.length} characters long`;
  if (e.exitCode === 2 && !(e instanceof InputError)) return `exit 2 from a ${e.constructor.name}`;
  void argv;
  return undefined;
}

export function cleanupDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
