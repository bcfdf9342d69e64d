// The README's ```console examples are real runs (scripts/readme-examples.ts writes them): each
// command still runs, ends with the exit code the README says, and prints what the README shows.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { exampleDir, expectedExit, parseExamples, regenerate, runExample } from "../../scripts/readme-examples.ts";
import { fixturesMissing } from "../helpers/fixtures.ts";
import { ROOT } from "./run.ts";

const readme = readFileSync(join(ROOT, "README.md"), "utf8");

describe.skipIf(fixturesMissing !== undefined)(
  `README examples${fixturesMissing ? ` (skipped: ${fixturesMissing})` : ""}`,
  () => {
    test("there are examples for the commands, and every non-live one is generated", () => {
      const commands = parseExamples(readme).flatMap((b) => b.commands);
      expect(commands.length).toBeGreaterThan(20);
      for (const name of [
        "generate",
        "apply",
        "verify",
        "baseline",
        "matrix",
        "diff",
        "check-migration",
        "list",
        "show",
        "import",
        "export",
      ])
        expect(commands.some((c) => c.line.startsWith(`cpuprof ${name}`))).toBe(true);
    });

    test("README.md is what a fresh run of its examples prints (bun scripts/readme-examples.ts rewrites it)", () => {
      const { text, problems } = regenerate(readme, { live: false });
      expect(problems).toEqual([]);
      if (text !== readme) {
        const a = readme.split("\n"),
          b = text.split("\n");
        const i = a.findIndex((l, k) => l !== b[k]);
        throw new Error(`README.md differs from a fresh run at line ${i + 1}:\n  README: ${a[i]}\n  fresh:  ${b[i]}`);
      }
    }, 60_000);

    test("the script notices drift: a changed output line or a wrong exit code", () => {
      const doctored = readme.replace("every host runs every profile\n", "every host runs every profile, always\n");
      expect(regenerate(doctored, { live: false }).text).not.toBe(doctored);
      const dir = exampleDir();
      expect(runExample("cpuprof show nope", dir).code).toBe(expectedExit("cpuprof show nope   # exit 2"));
    }, 60_000);
  },
);
