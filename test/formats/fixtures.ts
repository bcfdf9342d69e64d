// Where the shared fixtures live (never copied into the repository) and a skip reason when absent.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { FIXTURES_DIR } from "../helpers/fixtures.ts";

export const FIXTURES = FIXTURES_DIR;
export const HAVE_FIXTURES = existsSync(FIXTURES);
if (!HAVE_FIXTURES) console.log(`skip: fixture tests, ${FIXTURES} is absent`);

export function fixtureText(rel: string): string {
  return readFileSync(join(FIXTURES, rel), "utf8");
}

export function fixtureFiles(dir: string, re: RegExp): string[] {
  return HAVE_FIXTURES
    ? readdirSync(join(FIXTURES, dir))
        .filter((f) => re.test(f))
        .sort()
    : [];
}
