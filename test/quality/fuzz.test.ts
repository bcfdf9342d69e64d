// Fuzzing every input parser and the command line (bounded; `bun run fuzz` runs 10,000 cases over
// the same generators). Property: a case parses, or throws an InputError (exit 2) whose message is
// one terminal-safe line naming the file and, for structure errors, a JSON path. Never another
// exception, never a stack trace; a spawned cpuprof refusing bad input writes no output file.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { commands } from "../../src/cli/commands/index.ts";
import { runMain } from "./cli-runner.ts";
import {
  checkCase,
  cleanupDir,
  cliCase,
  cliProblem,
  fixturesMissing,
  fuzzCase,
  hugeText,
  jsonOp,
  loadSeeds,
  mutateDoc,
  prepareCliDir,
  resolveCli,
  showCase,
  UNSAFE_CHARS,
  type FuzzCase,
  type HugeKind,
  type Seed,
  type Target,
} from "./generators.ts";

const REPO = resolve(import.meta.dir, "../..");
const BUN = join(REPO, "node_modules/.bin/bun");
const seeds = loadSeeds();

/** fc.assert over cases with the parser property, reporting the case (shortened) on failure. */
function assertCases(arb: fc.Arbitrary<FuzzCase>, numRuns: number): void {
  fc.assert(
    fc.property(arb, (c) => {
      const { problem } = checkCase(c);
      if (problem !== undefined) throw new Error(`${problem}\ncase: ${showCase(c)}`);
    }),
    { numRuns, endOnFailure: true },
  );
}

const caseFor = (target: Target, how: string, text: string, file = "case.json"): FuzzCase => ({
  target,
  how,
  file,
  text,
  vendor: "intel",
});

describe("parsers under random and mutated documents", () => {
  test("every parser, mixed cases", () => {
    assertCases(fuzzCase(seeds), 500);
  });

  for (const target of ["profile", "host", "template", "chv"] as const) {
    test(`${target}: mutations of its own seeds`, () => {
      const own = seeds.filter((s) => s.target === target);
      expect(own.length).toBeGreaterThan(0);
      assertCases(fuzzCase(own, { mildWeight: 10 }), 150);
    });
  }

  test.skipIf(fixturesMissing !== undefined)("every real fixture with a random JSON node deleted or replaced", () => {
    const fixtures = seeds.filter((s) => s.label.startsWith("fixture"));
    expect(fixtures.length).toBeGreaterThan(10);
    fc.assert(
      fc.property(fc.nat({ max: fixtures.length - 1 }), fc.array(jsonOp, { minLength: 1, maxLength: 2 }), (i, ops) => {
        const s = fixtures[i]!;
        const c: FuzzCase = { ...caseFor(s.target, `mutated ${s.label}`, mutateDoc(s.doc, ops, true), "fixture.json") };
        if (s.target === "chv") c.vendor = undefined;
        const { problem } = checkCase(c);
        if (problem !== undefined) throw new Error(`${problem}\nops: ${JSON.stringify(ops)} on ${s.label}`);
      }),
      { numRuns: 200, endOnFailure: true },
    );
  });

  test("the unchanged seeds parse (so the mutations start from valid documents)", () => {
    for (const s of seeds) {
      const c: FuzzCase = { ...caseFor(s.target, s.label, JSON.stringify(s.doc)) };
      if (s.target === "chv") {
        c.vendor = s.label.startsWith("fixture") ? undefined : "intel";
        if (s.msrDoc !== undefined) Object.assign(c, { msrFile: "msr.json", msrText: JSON.stringify(s.msrDoc) });
      }
      expect({ label: s.label, ...checkCase(c) }).toEqual({ label: s.label, parsed: true });
    }
  });
});

describe("hand-picked nasty documents", () => {
  const firstOf = (t: Target): Seed => seeds.find((s) => s.target === t)!;

  test("10 MB documents are refused quickly, whatever their shape", () => {
    for (const target of ["profile", "host", "template", "chv"] as const)
      for (const kind of ["pad10mb", "array10mb", "string10mb"] as const satisfies HugeKind[]) {
        const c = caseFor(target, `${kind} ${target}`, hugeText(firstOf(target).doc, kind), "big.json");
        expect(c.text.length).toBeGreaterThan(10 * 1024 * 1024);
        const t = performance.now();
        const r = checkCase(c);
        expect({ target, kind, ...r }).toEqual({ target, kind, parsed: false });
        expect(performance.now() - t).toBeLessThan(1000);
      }
  });

  test("a huge array just under the size limit is refused with its path", () => {
    const c = caseFor("host", "arrayUnderLimit", hugeText(firstOf("host").doc, "arrayUnderLimit"), "big.json");
    expect(checkCase(c)).toEqual({ parsed: false });
  });

  test("deep nesting, binary garbage, truncation, empty files", () => {
    const texts = [
      "[".repeat(200_000) + "]".repeat(200_000),
      `${'{"a":'.repeat(100_000)}1${"}".repeat(100_000)}`,
      "[".repeat(100_000),
      "",
      "\u0000\u0001\u001b[2J\xff\xfe",
      String.fromCharCode(...Array.from({ length: 4096 }, (_, i) => (i * 7919) & 0xff)),
      "\ufeff{}",
      JSON.stringify(firstOf("profile").doc).slice(0, 100),
    ];
    for (const target of ["profile", "host", "template", "chv"] as const)
      for (const text of texts) {
        const r = checkCase(caseFor(target, "nasty", text));
        if (r.problem) throw new Error(`${target}: ${r.problem}`);
      }
  });

  test("hex strings upper-case, padded, out of range and negative are refused naming the path", () => {
    for (const target of ["profile", "host"] as const) {
      const own = seeds.find(
        (s) => s.target === target && s.label.startsWith(target === "host" ? "synthetic:own" : "embedded"),
      )!;
      for (const how of ["upper", "pad", "overflow", "strip", "negative", "space", "empty", "prefixOnly"] as const) {
        // every string node in turn would be slow; a spread of them is enough
        for (const at of [3, 17, 41, 97, 211]) {
          const text = mutateDoc(own.doc, [{ kind: "hex", at, how }], false);
          const r = checkCase(caseFor(target, `hex ${how} at ${at}`, text));
          if (r.problem) throw new Error(`${target} ${how} ${at}: ${r.problem}`);
        }
      }
    }
  });

  test("file names with control characters never reach the message raw", () => {
    const own = seeds.find((s) => s.label === "synthetic:own")!;
    const dupMsr = mutateDoc(own.doc, [{ kind: "dupElement", at: 1e9, pick: 0 }], false);
    for (const file of ["evil\nname.json", "e\u001b[31m.json", "c\r.json", "rlo\u202e.json", "nel\u0085.json"])
      for (const text of ["{", "{}", dupMsr, JSON.stringify(own.doc).replace('"cpuprof-host"', '"cpuprof-hosts"')]) {
        const r = checkCase(caseFor("host", "evil file name", text, file));
        if (r.problem) throw new Error(`${JSON.stringify(file)}: ${r.problem}`);
      }
  });
});

describe("command lines", () => {
  test("main(argv) in-process: returns an exit code or throws a one-line CpuprofError", async () => {
    const dir = prepareCliDir();
    try {
      await fc.assert(
        fc.asyncProperty(
          cliCase(
            seeds,
            commands.map((c) => c.name),
          ),
          async (c) => {
            const run = resolveCli(c, dir);
            const problem = cliProblem(await runMain(run.argv, dir, run.stdin), run.argv) ?? run.after();
            if (problem !== undefined)
              throw new Error(
                `${problem}\nargv: ${JSON.stringify(run.argv)} (input ${c.inputKind}, output ${c.outputKind})\n@IN: ${showCase(c.input)}`,
              );
          },
        ),
        { numRuns: 120, endOnFailure: true },
      );
    } finally {
      cleanupDir(dir);
    }
  });

  test("a spawned cpuprof refusing bad input: exit 2, one stderr line, no output file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cpuprof-fuzz-spawn-"));
    try {
      const synthetic = seeds.find((s) => s.label === "synthetic:own")!;
      writeFileSync(join(dir, "host.json"), JSON.stringify(synthetic.doc));
      // bad inputs from the generators, the first few of each kind that are refused
      const bad = (target: Target, n: number): string[] => {
        const own = seeds.filter((s) => s.target === target);
        return fc
          .sample(fuzzCase(own), { numRuns: 200, seed: 4242 })
          .map((c) => ({ ...c, vendor: "intel" as const }))
          .filter((c) => c.target === target && c.msrText === undefined && !checkCase(c).parsed)
          .slice(0, n)
          .map((c) => c.text);
      };
      const lines: { argv: (input: string, out: string) => string[]; input: string }[] = [];
      const add = (target: Target, argv: (input: string, out: string) => string[]) =>
        bad(target, 2).forEach((text) => lines.push({ argv, input: text }));
      add("host", (i, o) => ["host", "--from", i, "-o", o]);
      add("host", (i, o) => ["generate", "--name", "fuzz", "--host", i, "-o", o]);
      add("profile", (i, o) => ["apply", i, "--host", join(dir, "host.json"), "--json", "-o", o]);
      add("template", (i, o) => ["import", "firecracker", i, "--name", "fuzz", "--vendor", "intel", "-o", o]);
      add("chv", (i, o) => ["import", "chv", i, "--name", "fuzz", "--vendor", "intel", "-o", o]);
      expect(lines.length).toBe(10);
      const runs = lines.map(async (line, k) => {
        const input = join(dir, `in-${k}.json`);
        const out = join(dir, `out-${k}.json`);
        writeFileSync(input, line.input);
        const argv = line.argv(input, out);
        const proc = Bun.spawn([BUN, join(REPO, "src/cli/main.ts"), ...argv], {
          stdout: "pipe",
          stderr: "pipe",
          cwd: dir,
        });
        const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
        return { argv, code, stderr, outExists: existsSync(out) };
      });
      for (const r of await Promise.all(runs)) {
        const what = `${r.argv.join(" ")}: ${JSON.stringify(r.stderr)}`;
        expect({ what, code: r.code }).toEqual({ what, code: 2 });
        expect(r.stderr.endsWith("\n")).toBe(true);
        expect(r.stderr.trimEnd()).not.toMatch(UNSAFE_CHARS);
        expect(r.stderr).toStartWith("cpuprof: ");
        expect(r.stderr).not.toMatch(/\n\s+at /);
        expect({ what, outExists: r.outExists }).toEqual({ what, outExists: false });
      }
      expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
