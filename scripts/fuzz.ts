// bun run fuzz [--count N] [--seed S]: N cases (default 10,000) over the generators of
// test/quality/generators.ts: every input parser with random and mutated documents, invalid UTF-8 and
// duplicate keys (85%) and the CLI's main(argv) in-process (15%), its @IN a file, a link, stdin (a
// pipe), /dev/stdin, a device or a directory, its @OUT a new or existing file, a link, stdout, a
// device node, or a path that cannot be written. Prints the count and the first failure (shrunk); exit 1 on failure.
import fc from "fast-check";
import { commands } from "../src/cli/commands/index.ts";
import { runMain } from "../test/quality/cli-runner.ts";
import {
  checkCase,
  cleanupDir,
  cliCase,
  cliProblem,
  fixturesMissing,
  fuzzCase,
  loadSeeds,
  prepareCliDir,
  resolveCli,
  showCase,
} from "../test/quality/generators.ts";

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const n = Number(process.argv[i + 1]);
  if (!Number.isSafeInteger(n) || n < 0) {
    console.error(`fuzz: ${name} expects a non-negative integer`);
    process.exit(2);
  }
  return n;
}

const count = option("--count", 10_000);
const seed = option("--seed", Date.now() % 2 ** 31);
const cliRuns = Math.round(count * 0.15);
const parserRuns = count - cliRuns;

const seeds = loadSeeds();
console.log(
  `fuzz: ${seeds.length} seed documents${fixturesMissing ? ` (${fixturesMissing}: synthetic and embedded seeds only)` : ""}, seed ${seed}`,
);

const started = performance.now();
let failed = false;
let parserCases = 0;
let parsed = 0;
const byTarget = new Map<string, number>();
let slowest = { ms: 0, how: "" };

const parserResult = fc.check(
  fc.property(fuzzCase(seeds, { hugeWeight: 1 }), (c) => {
    parserCases++;
    byTarget.set(c.target, (byTarget.get(c.target) ?? 0) + 1);
    const t = performance.now();
    const { parsed: ok, problem } = checkCase(c);
    const ms = performance.now() - t;
    if (ms > slowest.ms) slowest = { ms, how: `${c.target} ${c.how}`.slice(0, 160) };
    if (ok) parsed++;
    if (problem !== undefined) throw new Error(problem);
  }),
  { numRuns: parserRuns, seed, endOnFailure: true },
);
if (parserResult.failed) {
  failed = true;
  console.error(
    `fuzz: parser property FAILED after ${parserResult.numRuns} cases (seed ${seed}, path ${parserResult.counterexamplePath}):`,
  );
  console.error(
    `  ${parserResult.errorInstance instanceof Error ? parserResult.errorInstance.message : String(parserResult.errorInstance)}`,
  );
  if (parserResult.counterexample) console.error(`  case: ${showCase(parserResult.counterexample[0])}`);
}

const dir = prepareCliDir();
const names = commands.map((c) => c.name);
const codes = new Map<number, number>();
const kinds = new Map<string, number>();
let cliCases = 0;
try {
  const cliResult = await fc.check(
    fc.asyncProperty(cliCase(seeds, names), async (c) => {
      cliCases++;
      const run = resolveCli(c, dir);
      const outcome = await runMain(run.argv, dir, run.stdin);
      codes.set(outcome.code, (codes.get(outcome.code) ?? 0) + 1);
      kinds.set(`${c.inputKind}->${c.outputKind}`, (kinds.get(`${c.inputKind}->${c.outputKind}`) ?? 0) + 1);
      const problem = cliProblem(outcome, run.argv) ?? run.after();
      if (problem !== undefined)
        throw new Error(
          `${problem}\n  argv: ${JSON.stringify(run.argv)} (input ${c.inputKind}, output ${c.outputKind})\n  @IN: ${showCase(c.input)}`,
        );
    }),
    { numRuns: cliRuns, seed, endOnFailure: true },
  );
  if (cliResult.failed) {
    failed = true;
    console.error(
      `fuzz: CLI property FAILED after ${cliResult.numRuns} cases (seed ${seed}, path ${cliResult.counterexamplePath}):`,
    );
    console.error(
      `  ${cliResult.errorInstance instanceof Error ? cliResult.errorInstance.message : String(cliResult.errorInstance)}`,
    );
  }
} finally {
  cleanupDir(dir);
}

const seconds = ((performance.now() - started) / 1000).toFixed(1);
const targets = [...byTarget].map(([t, n]) => `${t} ${n}`).join(", ");
const exits = [...codes]
  .sort((a, b) => a[0] - b[0])
  .map(([c, n]) => `exit ${c}: ${n}`)
  .join(", ");
console.log(
  `fuzz: ${parserCases + cliCases} cases in ${seconds} s: ${parserCases} parser cases (${targets}; ${parsed} parsed, the rest refused), ${cliCases} command lines (${exits})`,
);
console.log(
  `fuzz: command lines by input and output kind: ${[...kinds]
    .sort()
    .map(([k, n]) => `${k} ${n}`)
    .join(", ")}`,
);
console.log(`fuzz: slowest parser case ${slowest.ms.toFixed(0)} ms (${slowest.how})`);
if (failed) {
  console.error("fuzz: FAILED");
  process.exit(1);
}
console.log("fuzz: ok");
