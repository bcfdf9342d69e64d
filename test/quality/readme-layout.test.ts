// The README's source layout names every folder of src/, and names none that is gone.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");

describe("README source layout", () => {
  test("every folder of src/ is in the layout table, and every folder the table names exists", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## Source layout"), readme.indexOf("## Tests, benchmark, fuzzing"));
    expect(section.length).toBeGreaterThan(100);
    const folders = readdirSync(join(ROOT, "src")).filter((d) => statSync(join(ROOT, "src", d)).isDirectory());
    for (const d of folders) expect({ d, named: section.includes(`\`src/${d}/\``) }).toEqual({ d, named: true });
    const named = [...section.matchAll(/`src\/([a-z-]+)\/`/g)].map((m) => m[1]!);
    for (const d of named) expect({ d, exists: folders.includes(d) }).toEqual({ d, exists: true });
  });
});
