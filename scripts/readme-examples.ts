// The README's examples come from real runs: every ```console block is a list of `$ COMMAND`
// lines, each followed by what that command prints (stdout and stderr as a terminal shows them).
// This script runs the commands, in order, in one scratch directory that holds the fixture hosts
// under short names (skylake-host.json, ...), and writes their output back into the README.
// `cpuprof` in a command is this checkout's CLI. A command may use a pipe (`| head -8`) to keep
// an example short; a trailing `# exit N` says the exit code it must end with (default 0, checked
// when the line has no pipe). A command ending `# live` reads this machine's /dev/kvm: it is
// regenerated here, and left as it is by --check. `# needs PROGRAM`: run only where PROGRAM is
// installed, else left as it is.
//
// Usage: bun scripts/readme-examples.ts           rewrite README.md
//        bun scripts/readme-examples.ts --check   exit 1 when README.md differs from a fresh run
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "..");
const FIXTURES = resolve(ROOT, "../shared/fixtures");
const README = join(ROOT, "README.md");

/** The short names examples use for the fixture files. */
export const EXAMPLE_FILES: Record<string, string> = {
  "skylake-host.json": "hosts/firecracker/fingerprint_INTEL_SKYLAKE_6.1host.json",
  "clx-host.json": "hosts/firecracker/fingerprint_INTEL_CASCADELAKE_6.1host.json",
  "icx-host.json": "hosts/firecracker/fingerprint_INTEL_ICELAKE_6.1host.json",
  "spr-host.json": "hosts/firecracker/fingerprint_INTEL_SAPPHIRE_RAPIDS_6.1host.json",
  "spr-5.10-host.json": "hosts/firecracker/fingerprint_INTEL_SAPPHIRE_RAPIDS_5.10host.json",
  "icx-5.10-host.json": "hosts/firecracker/fingerprint_INTEL_ICELAKE_5.10host.json",
  "gnr-host.json": "hosts/firecracker/fingerprint_INTEL_GRANITE_RAPIDS_6.1host.json",
  "milan-host.json": "hosts/firecracker/fingerprint_AMD_MILAN_6.1host.json",
  "genoa-host.json": "hosts/firecracker/fingerprint_AMD_GENOA_6.1host.json",
  "T2S.json": "firecracker-templates/T2S.json",
};

export interface ExampleCommand {
  /** The command as written after `$ `. */
  line: string;
  /** The output the README shows for it. */
  output: string;
  live: boolean;
  /** A program the command runs besides cpuprof (`# needs PROGRAM`). */
  needs: string | null;
}

export interface ExampleBlock {
  /** Line index of the opening fence and of the closing fence. */
  start: number;
  end: number;
  commands: ExampleCommand[];
}

/** Every ```console block of the README with its commands and their shown output. */
export function parseExamples(readme: string): ExampleBlock[] {
  const lines = readme.split("\n");
  const blocks: ExampleBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== "```console") continue;
    const start = i;
    const commands: ExampleCommand[] = [];
    for (i++; i < lines.length && lines[i] !== "```"; i++) {
      const line = lines[i]!;
      if (line.startsWith("$ "))
        commands.push({
          line: line.slice(2),
          output: "",
          live: /#\s*live\b/.test(line),
          needs: /#.*\bneeds ([\w.+-]+)/.exec(line)?.[1] ?? null,
        });
      else if (commands.length > 0) commands[commands.length - 1]!.output += `${line}\n`;
    }
    blocks.push({ start, end: i, commands });
  }
  return blocks;
}

/** The exit code a command line says it ends with (`# exit N`), 0 by default. */
export function expectedExit(line: string): number {
  return Number(/#.*\bexit (\d+)/.exec(line)?.[1] ?? 0);
}

/** Files examples read that no command makes: a vCPU's saved MSRs (Skylake's ARCH_CAPABILITIES plus BHI_NO, and an MSR no KVM knows). */
const MADE_FILES: Record<string, string> = {
  "saved.json": `${JSON.stringify(
    {
      format: "cpuprof-saved-msrs",
      formatVersion: 1,
      vcpuId: 0,
      msrs: [
        { index: "0x10a", value: "0x400000000c10004c" },
        { index: "0x12345678", value: "0x1" },
      ],
    },
    null,
    2,
  )}\n`,
};

/** A scratch directory holding the fixture files under their example names, and the made files. */
export function exampleDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "cpuprof-readme-"));
  for (const [name, path] of Object.entries(EXAMPLE_FILES)) copyFileSync(join(FIXTURES, path), join(dir, name));
  for (const [name, text] of Object.entries(MADE_FILES)) writeFileSync(join(dir, name), text);
  return dir;
}

/** Runs one example line in `dir`: its output as a terminal would show it (stdout and stderr merged), and its exit code. */
export function runExample(line: string, dir: string): { output: string; code: number } {
  const cli = `${JSON.stringify(process.execPath)} ${JSON.stringify(join(ROOT, "src/cli/main.ts"))}`;
  const script = `cpuprof() { ${cli} "$@"; }\n{ ${line}\n} 2>&1`;
  const p = Bun.spawnSync(["bash", "-c", script], {
    cwd: dir,
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, CPUPROF_DEBUG: "", NO_COLOR: "1" },
  });
  return { output: p.stdout.toString(), code: p.exitCode ?? -1 };
}

/** The README with every example's output replaced by a fresh run (live ones kept unless `live`). */
export function regenerate(readme: string, options: { live: boolean }): { text: string; problems: string[] } {
  const lines = readme.split("\n");
  const problems: string[] = [];
  const dir = exampleDir();
  try {
    const blocks = parseExamples(readme);
    // From the last block up, so earlier line numbers stay valid.
    const rendered = blocks.map((b) =>
      b.commands.map((c) => {
        if ((c.live && !options.live) || (c.needs !== null && !Bun.which(c.needs))) return { ...c };
        const r = runExample(c.line, dir);
        if (!c.line.includes("|") && r.code !== expectedExit(c.line))
          problems.push(`'${c.line}' exited ${r.code}, the README says ${expectedExit(c.line)}`);
        return { ...c, output: r.output };
      }),
    );
    for (let k = blocks.length - 1; k >= 0; k--) {
      const b = blocks[k]!;
      const body = rendered[k]!.flatMap((c) => [
        `$ ${c.line}`,
        ...c.output
          .replace(/\n$/, "")
          .split("\n")
          .filter((_, _i, all) => all.length > 1 || all[0] !== ""),
      ]);
      lines.splice(b.start + 1, b.end - b.start - 1, ...body);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { text: lines.join("\n"), problems };
}

if (import.meta.main) {
  const check = process.argv.includes("--check");
  if (!existsSync(FIXTURES)) {
    console.error(`readme-examples: the fixtures are not at ${FIXTURES}`);
    process.exit(2);
  }
  const readme = readFileSync(README, "utf8");
  const { text, problems } = regenerate(readme, { live: !check && existsSync("/dev/kvm") });
  for (const p of problems) console.error(`readme-examples: ${p}`);
  if (check) {
    if (text !== readme)
      console.error("readme-examples: README.md differs from a fresh run (bun scripts/readme-examples.ts rewrites it)");
    process.exit(text === readme && problems.length === 0 ? 0 : 1);
  }
  writeFileSync(README, text);
  console.error(
    `readme-examples: ${parseExamples(text).reduce((n, b) => n + b.commands.length, 0)} commands run into README.md`,
  );
  process.exit(problems.length === 0 ? 0 : 1);
}
