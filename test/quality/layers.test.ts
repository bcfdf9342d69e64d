// Guards for what the header comments of src/kvm/index.ts, src/policy/index.ts and src/fields/ promise:
// the KVM layer and the policy are imported only through their index, and only src/fields reads compare rules.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { REPO, sourceFiles } from "../helpers/sources.ts";

const SRC = join(REPO, "src");
const files = sourceFiles(SRC, /\.ts$/).map((path) => ({
  path: relative(SRC, path),
  text: readFileSync(path, "utf8"),
}));

/** Every module specifier a file imports or re-exports. */
function importsOf(text: string): string[] {
  return [...text.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"/gms)].map((m) => m[1]!);
}

/** The files outside `dir` that import a module of `dir` other than its index.ts, with what they import. */
function aroundTheIndex(
  dir: string,
  exempt: ReadonlySet<string> = new Set(),
  entries: ReadonlySet<string> = new Set([`${dir}/index.ts`]),
): string[] {
  const out: string[] = [];
  for (const f of files) {
    if (f.path.startsWith(`${dir}/`) || exempt.has(f.path)) continue;
    for (const spec of importsOf(f.text)) {
      const target = relative(SRC, join(SRC, f.path, "..", spec));
      if (target.startsWith(`${dir}/`) && !entries.has(target)) out.push(`${f.path} imports ${target}`);
    }
  }
  return out;
}

describe("layers keep the promises of their header comments", () => {
  test("only src/kvm touches its own files: everything above imports src/kvm/index.ts", () => {
    // src/guest is reworked in parallel by its owner (issue 14): its type-only imports move to the index there.
    // posix.ts is its second entry: the stdio and kernel-file calls every command makes without loading KVM.
    expect(aroundTheIndex("kvm", new Set(["guest/types.ts"]), new Set(["kvm/index.ts", "kvm/posix.ts"]))).toEqual([]);
  });

  test("the policy tables are imported only through src/policy/index.ts", () => {
    expect(aroundTheIndex("policy")).toEqual([]);
  });

  test("no code outside src/policy reads a policy table's arrays directly", () => {
    const reads = files
      .filter((f) => !f.path.startsWith("policy/"))
      .flatMap((f) =>
        [...f.text.matchAll(/\bpolicy\.(cpuid|msrFields|msrs)\b/g)].map((m) => `${f.path}: policy.${m[1]}`),
      );
    expect(reads).toEqual([]);
  });

  test("only src/fields reads the compare rules (subset, superset, le, eq) by name", () => {
    const readers = files
      .filter((f) => !f.path.startsWith("fields/") && !f.path.startsWith("policy/"))
      .flatMap((f) =>
        [...f.text.matchAll(/compare\s*[!=]==\s*"(subset|superset|le|eq|none)"|case\s+"(subset|superset)"/g)].map(
          (m) => `${f.path}: ${m[0]}`,
        ),
      );
    expect(readers).toEqual([]);
  });
});
