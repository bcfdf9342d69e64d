// Issue 14, "one voice at the command line": every command speaks the same way about --json,
// terminals, names, errors and exit codes.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { commands } from "../../src/cli/commands/index.ts";
import { kvmVendorModule } from "../../src/host/kvm-module.ts";
import { FIXTURES_DIR, fixturesMissing } from "../helpers/fixtures.ts";
import { SCRIPT, cpuprof, cpuprofOnTerminal, fixtureHost } from "./run.ts";

const tmp = () => mkdtempSync(join(tmpdir(), "cpuprof-voice-"));
const noFixtures = fixturesMissing !== undefined;
const noScript = !existsSync(SCRIPT);
const SKL = fixtureHost("INTEL_SKYLAKE");
const SPR = fixtureHost("INTEL_SAPPHIRE_RAPIDS");
const TEMPLATES = join(FIXTURES_DIR, "firecracker-templates");

describe("--json means the same everywhere", () => {
  test("import, export and schema accept --json and print on stdout what they wrote to -o", () => {
    const dir = tmp();
    const schema = cpuprof(["schema", "profile", "-o", join(dir, "s.json"), "--json"]);
    expect(schema.code).toBe(0);
    expect(schema.stdout).toBe(readFileSync(join(dir, "s.json"), "utf8"));
    expect(cpuprof(["schema", "profile", "-o", join(dir, "s2.json")]).stdout).toBe("");
    const fc = cpuprof(["export", "firecracker", "skylake", "-o", join(dir, "t.json"), "--json"]);
    expect(fc.code).toBe(0);
    expect(fc.stdout).toBe(readFileSync(join(dir, "t.json"), "utf8"));
    const imported = cpuprof([
      "import",
      "firecracker",
      join(dir, "t.json"),
      "--name",
      "back",
      "--vendor",
      "intel",
      "-o",
      join(dir, "p.json"),
      "--json",
    ]);
    expect(imported.code).toBe(0);
    expect(imported.stdout).toBe(readFileSync(join(dir, "p.json"), "utf8"));
    expect(JSON.parse(imported.stdout).name).toBe("back");
    const chv = cpuprof(["export", "chv", "skylake", join(dir, "chv"), "--json"]);
    expect(chv.code).toBe(0);
    expect(JSON.parse(chv.stdout).written).toEqual([
      join(dir, "chv", "skylake.cpuid.json"),
      join(dir, "chv", "skylake.msr.json"),
    ]);
  });

  test.skipIf(noFixtures)("host -o FILE --json writes the JSON capture and prints that JSON, not the summary", () => {
    const dir = tmp();
    const r = cpuprof(["host", "--from", SKL, "-o", join(dir, "h.json"), "--json"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(readFileSync(join(dir, "h.json"), "utf8"));
    expect(JSON.parse(r.stdout).format).toBe("cpuprof-host");
    expect(cpuprof(["host", "--from", SKL, "-o", join(dir, "h2.json")]).stdout).toContain("vendor");
  });

  test.skipIf(noFixtures)(
    "apply --json on an incompatible profile prints the JSON report on stdout, writes nothing, exits 1",
    () => {
      const dir = tmp();
      const r = cpuprof(["apply", "sapphire-rapids", "--host", SKL, "--json", "-o", join(dir, "out.json")]);
      expect(r.code).toBe(1);
      const j = JSON.parse(r.stdout);
      expect(j.compatible).toBe(false);
      expect(j.report.problems.length).toBeGreaterThan(0);
      expect(existsSync(join(dir, "out.json"))).toBe(false);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    },
  );

  test.skipIf(noFixtures)("check-migration says safe in its text and its JSON", () => {
    const ok = ["check-migration", "--from", SKL, "--to", SPR, "--profile", "skylake"];
    expect(cpuprof(ok).stdout).toContain(": safe");
    expect(JSON.parse(cpuprof([...ok, "--json"]).stdout).safe).toBe(true);
    const bad = ["check-migration", "--from", SPR, "--to", SKL];
    expect(cpuprof(bad).stdout).toContain("NOT SAFE");
    const j = JSON.parse(cpuprof([...bad, "--json"]).stdout);
    expect(j.safe).toBe(false);
    expect(j).not.toHaveProperty("compatible");
  });
});

describe("output that fits the terminal", () => {
  test.skipIf(noScript || noFixtures)("binary formats refuse a terminal, and go to a pipe or -o", () => {
    for (const format of ["kvm-cpuid2", "kvm-msrs", "msr-filter"]) {
      const tty = cpuprofOnTerminal(["apply", "skylake", "--host", SKL, "--format", format]);
      expect(tty.code).toBe(2);
      expect(tty.output.trim()).toBe("cpuprof: binary output; use -o FILE or a pipe");
      expect(cpuprof(["apply", "skylake", "--host", SKL, "--format", format]).code).toBe(0);
    }
    const dir = tmp();
    expect(
      cpuprofOnTerminal(["apply", "skylake", "--host", SKL, "--format", "kvm-cpuid2", "-o", join(dir, "c.bin")]).code,
    ).toBe(0);
  });

  test.skipIf(noScript || noFixtures)("TERM=dumb gets no progress line", () => {
    const args = ["matrix", SKL, SPR, "--profiles", "skylake"];
    expect(cpuprofOnTerminal(args, { TERM: "xterm" }).output).toContain("\r\x1b[K");
    const dumb = cpuprofOnTerminal(args, { TERM: "dumb" });
    expect(dumb.output).not.toContain("\x1b[");
    expect(dumb.output).toContain("skylake");
  });
});

describe("names and errors in plain words", () => {
  test("one profile-name check with one message, whichever command takes the name", () => {
    const dir = tmp();
    writeFileSync(join(dir, "t.json"), cpuprof(["export", "firecracker", "skylake"]).stdout);
    const messages = [
      cpuprof(["generate", "--name", "Bad_Name", "--host", SKL]),
      cpuprof(["baseline", SKL, "--name", "Bad_Name"]),
      cpuprof(["import", "firecracker", join(dir, "t.json"), "--name", "Bad_Name", "--vendor", "intel"]),
    ].map((r) => {
      expect(r.code).toBe(2);
      return r.stderr.replace(/^cpuprof: \w+: --name: /, "");
    });
    expect(new Set(messages).size).toBe(1);
    expect(messages[0]).toBe(
      "'Bad_Name': a profile name is kebab-case: a-z, 0-9 and '-', starting with a letter or digit, at most 63 characters\n",
    );
  });

  test("an embedded name never silently shadows a file: ./skylake is the file, skylake the embedded profile with a warning", () => {
    const dir = tmp();
    const mine = JSON.parse(cpuprof(["show", "skylake", "--json"]).stdout);
    mine.name = "my-own";
    writeFileSync(join(dir, "skylake"), JSON.stringify(mine));
    const file = cpuprof(["show", "./skylake", "--json"], { cwd: dir });
    expect(JSON.parse(file.stdout).name).toBe("my-own");
    expect(file.stderr).toBe("");
    const embedded = cpuprof(["show", "skylake", "--json"], { cwd: dir });
    expect(JSON.parse(embedded.stdout).name).toBe("skylake");
    expect(embedded.stderr).toBe(
      "warning: 'skylake' is the embedded profile; write './skylake' for the file of that name\n",
    );
    expect(cpuprof(["show", "./nope"], { cwd: dir }).stderr).toBe("cpuprof: ./nope: no such file\n");
  });

  test("errors never say 'expected never', a raw errno or an unclosed quote", () => {
    const dir = tmp();
    const p = JSON.parse(cpuprof(["show", "skylake", "--json"]).stdout);
    p.bogus = 1;
    writeFileSync(join(dir, "p.json"), JSON.stringify(p));
    const extra = cpuprof(["show", join(dir, "p.json")]);
    expect(extra.code).toBe(2);
    expect(extra.stderr).toContain("$.bogus: unknown key");
    const missing = cpuprof(["host", "--from", join(dir, "none.json")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(`cpuprof: ${join(dir, "none.json")}: cannot read (no such file or directory)\n`);
    const unknown = cpuprof(["list", "--bogus"]);
    expect(unknown.stderr).toBe("cpuprof: list: unknown option '--bogus' (see 'cpuprof list --help')\n");
    for (const r of [extra, missing, unknown])
      expect(r.stderr).not.toMatch(/expected never|E[A-Z]{3,} \(|Unknown option/);
  });

  test.skipIf(!existsSync(TEMPLATES))(
    "a Firecracker template given to host --from points to import firecracker",
    () => {
      const r = cpuprof(["host", "--from", join(TEMPLATES, "T2.json")]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("not a host capture but a Firecracker custom CPU template");
      expect(r.stderr).toContain("'cpuprof import firecracker ");
    },
  );

  test("help nope exits 2; help COMMAND exits 0", () => {
    const r = cpuprof(["help", "nope"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("cpuprof: help: unknown command 'nope' (see 'cpuprof --help')\n");
    expect(cpuprof(["help", "diff"]).code).toBe(0);
  });

  test("every --help lists every documented exit code, 70 included", () => {
    const helps = [cpuprof(["--help"]).stdout, ...commands.map((c) => cpuprof([c.name, "--help"]).stdout)];
    for (const h of helps)
      for (const code of ["0", "1", "2", "3", "4", "70", "130"]) expect(h).toMatch(new RegExp(`^  ${code}  `, "m"));
  });
});

describe.skipIf(noFixtures)("matrix", () => {
  const ALL = [
    "AMD_GENOA",
    "AMD_MILAN",
    "INTEL_CASCADELAKE",
    "INTEL_GRANITE_RAPIDS",
    "INTEL_ICELAKE",
    "INTEL_SAPPHIRE_RAPIDS",
    "INTEL_SKYLAKE",
  ].map((n) => fixtureHost(n as "INTEL_SKYLAKE"));
  test("migration groups leave out the host profile and never mix vendors", () => {
    const r = cpuprof(["matrix", ...ALL, "--json"]);
    const m = JSON.parse(r.stdout) as { groups: { profile: string; hosts: string[] }[] };
    expect(m.groups.map((g) => g.profile)).not.toContain("host");
    for (const g of m.groups) expect(new Set(g.hosts.map((h) => h.includes("AMD"))).size).toBeLessThanOrEqual(1);
    const text = cpuprof(["matrix", ...ALL]).stdout;
    expect(text).toContain("host: runs on 7 of 7 hosts (not migratable: no group)");
  });
  test("the exit code says whether every host runs every listed profile", () => {
    expect(cpuprof(["matrix", SKL, SPR, "--profiles", "skylake"]).code).toBe(0);
    const some = cpuprof(["matrix", SKL, SPR, "--profiles", "skylake,sapphire-rapids"]);
    expect(some.code).toBe(1);
    expect(some.stdout).toContain("not every host runs every profile (exit 1)");
    expect(
      JSON.parse(cpuprof(["matrix", SKL, SPR, "--profiles", "skylake", "--json"]).stdout).everyHostRunsEveryProfile,
    ).toBe(true);
    expect(cpuprof(["matrix", "--help"]).stdout).toContain("Exit 0 when every host runs every listed profile, 1 when");
  });
  test("its lines fit 100 columns, for every fixture host against every embedded profile", () => {
    const r = cpuprof(["matrix", ...ALL]);
    for (const line of r.stdout.split("\n")) expect(line.length).toBeLessThanOrEqual(100);
  });
});

describe.skipIf(noFixtures)("diff", () => {
  test("hides the fields the policy leaves to the host unless --all, and says how many it hid", () => {
    const shown = cpuprof(["diff", SKL, SPR]);
    expect(shown.code).toBe(1);
    expect(shown.stdout).not.toContain("cache_parameters_ebx");
    expect(shown.stdout).not.toContain("brand_string");
    expect(shown.stdout).toMatch(/\(\d+ fields the policy leaves to the host also differ: .*--all shows them\)/);
    const all = cpuprof(["diff", SKL, SPR, "--all"]);
    expect(all.stdout).toContain("cache_parameters_ebx (0x4.0.ebx[31:0])");
    expect(all.stdout).not.toContain("--all shows them");
    const json = JSON.parse(cpuprof(["diff", SKL, SPR, "--json"]).stdout);
    expect(json.hiddenLeftToHost).toBeGreaterThan(0);
    expect(json.cpuid.numeric.map((n: { name: string }) => n.name)).not.toContain("cache_parameters_ebx");
  });
  test("two hosts that differ only in what the policy leaves to the host are equal by default", () => {
    const dir = tmp();
    const h = JSON.parse(cpuprof(["host", "--from", SKL, "--json"]).stdout);
    const leaf4 = h.cpuid.find((e: { function: string; index: string }) => e.function === "0x4" && e.index === "0x0");
    leaf4.ebx = "0x3c0003f"; // cache ways: a passthrough field
    writeFileSync(join(dir, "h2.json"), JSON.stringify(h));
    writeFileSync(join(dir, "h1.json"), cpuprof(["host", "--from", SKL, "--json"]).stdout);
    expect(cpuprof(["diff", join(dir, "h1.json"), join(dir, "h2.json")]).code).toBe(0);
    expect(cpuprof(["diff", join(dir, "h1.json"), join(dir, "h2.json"), "--all"]).code).toBe(1);
  });
  test("between two profiles it speaks in features, in lines that fit 100 columns", () => {
    const r = cpuprof(["diff", "skylake", "sapphire-rapids"]);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines.length).toBeLessThan(25);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(100);
    expect(r.stdout).toContain("CPUID features only in sapphire-rapids: avx512ifma");
    expect(r.stdout).not.toMatch(/^\s+0x[0-9a-f]+\.\d+\.e[a-d]x\[\d+\]/m);
    for (const l of cpuprof(["diff", SKL, SPR]).stdout.split("\n")) expect(l.length).toBeLessThanOrEqual(100);
  });
  test("against the host profile or another vendor it names features, not hundreds of single bits; --all has every bit", () => {
    const host = cpuprof(["diff", "skylake", "host"]);
    expect(host.code).toBe(1);
    expect(host.stdout.split("\n").length).toBeLessThan(80);
    expect(host.stdout).toContain("left to the host in host, fixed by skylake (");
    expect(host.stdout).toMatch(/\bavx512f\b/);
    expect(host.stdout).not.toMatch(/\b0x1\.0\.eax\[14\]/);
    expect(cpuprof(["diff", "skylake", "host", "--all"]).stdout).toContain(
      "0x1.0.eax[14] (0x1.0.eax[14]): left to the host in host, skylake fixes 0x0",
    );
    const vendor = cpuprof(["diff", "skylake", "epyc-milan"]);
    expect(vendor.code).toBe(1);
    expect(vendor.stdout).toContain("vendor: skylake intel, epyc-milan amd");
    expect(vendor.stdout.split("\n").length).toBeLessThan(8);
    expect(cpuprof(["diff", "skylake", "epyc-milan", "--all"]).stdout.split("\n").length).toBeGreaterThan(20);
  });
});

describe.skipIf(noFixtures)("baseline", () => {
  test("lists each distinct source host once, with how many distinct captures it had", () => {
    const dir = tmp();
    const h = JSON.parse(cpuprof(["host", "--from", SKL, "--json"]).stdout);
    // Three captures of one machine that differ (in its MSR index list), 1,000 copies each.
    const variants = [0, 1, 2].map((k) => JSON.stringify({ ...h, msrIndexList: h.msrIndexList.slice(k) }));
    writeFileSync(join(dir, "fleet.ndjson"), `${Array.from({ length: 3000 }, (_, i) => variants[i % 3]).join("\n")}\n`);
    const r = cpuprof(["baseline", join(dir, "fleet.ndjson"), "--name", "one-model"]);
    expect(r.code).toBe(0);
    const p = JSON.parse(r.stdout);
    expect(p.sourceHosts).toHaveLength(1);
    // Identical captures count once (baseline --help); the three distinct captures of the one host are one line.
    expect(p.sourceHosts[0].count).toBe(3);
    expect(r.stdout.length).toBeLessThan(10_000);
    writeFileSync(join(dir, "p.json"), r.stdout);
    expect(cpuprof(["show", join(dir, "p.json")]).stdout).toContain(" x3");
  });
});

describe.skipIf(noFixtures)("generate tells the truth", () => {
  test("its summary lists what was kept, what was hidden with the policy's reason, and the fields left to the host", () => {
    const dir = tmp();
    const r = cpuprof(["generate", "--host", SKL, "--name", "skl", "-o", join(dir, "p.json")]);
    expect(r.code).toBe(0);
    const section = (title: string) => r.stdout.split(/\n(?=\S)/).find((s) => s.startsWith(title))!;
    const kept = section("kept (").split(/\s+/);
    const hidden = section("hidden (");
    const host = section("left to the host the VM runs on (").split(/\s+/);
    expect(kept).toContain("avx512f");
    expect(hidden).toMatch(/\bmpx\b/);
    expect(hidden).toMatch(/why: MPX is gone/);
    expect(hidden).toMatch(/why: TSX/);
    expect(host).toContain("cache_parameters_ebx");
    // Left to the host is not a copy of the host's features.
    for (const f of ["avx512f", "mpx", "hle", "sse2"]) expect(host).not.toContain(f);
    for (const l of r.stdout.split("\n")) expect(l.length).toBeLessThanOrEqual(100);
  });
});

describe("verify on a hypervisor that cannot enforce profiles", () => {
  const module = kvmVendorModule();
  const why = !existsSync("/dev/kvm")
    ? " (skipped: no /dev/kvm)"
    : module !== "kvm_pvm"
      ? ` (skipped: /dev/kvm is ${module}, not kvm_pvm)`
      : "";
  test.skipIf(why !== "")(`says so in its first line, before the table, and in --json${why}`, () => {
    const r = cpuprof(["verify", "host"]);
    const first = r.stdout.split("\n")[0]!;
    expect(first).toStartWith("note: this host's /dev/kvm is kvm_pvm, which cannot enforce CPU profiles");
    expect(r.stdout.indexOf("cannot enforce")).toBeLessThan(r.stdout.indexOf("PROFILE"));
    for (const l of r.stdout.split("\n")) expect(l.length).toBeLessThanOrEqual(100);
    expect(JSON.parse(cpuprof(["verify", "host", "--json"]).stdout).enforcesProfiles).toBe(false);
  });
});

describe("human output fits 100 columns", () => {
  test.skipIf(noFixtures)("list, show, host, apply, check-migration, generate, verify --host", () => {
    const dir = tmp();
    const runs = [
      cpuprof(["list"]),
      cpuprof(["show", "skylake"]),
      cpuprof(["host", "--from", SPR]),
      cpuprof(["apply", "skylake", "--host", SPR]),
      cpuprof(["apply", "sapphire-rapids", "--host", SKL]),
      cpuprof(["check-migration", "--from", SPR, "--to", SKL]),
      cpuprof(["generate", "--host", SPR, "--name", "x", "-o", join(dir, "x.json")]),
      cpuprof(["verify", "--host", SKL]),
      cpuprof(["diff", SKL, SPR, "--all"]),
    ];
    for (const r of runs) for (const l of (r.stdout + r.stderr).split("\n")) expect(l.length).toBeLessThanOrEqual(100);
  });
});

describe("help and option specs agree by construction", () => {
  test("every command's Options section is made from its spec, and its Usage names exactly its options", async () => {
    const { optionsHelp } = await import("../../src/cli/args.ts");
    for (const entry of commands) {
      const c = await entry.load();
      expect(c.help).toContain(`Options:\n${optionsHelp(c.options)}\n`);
      const usage = c.help.slice(0, c.help.indexOf("\n\n"));
      const named = new Set([...usage.matchAll(/(?<=[\s[])--?([a-z][\w-]*)/g)].map((m) => m[1]!));
      named.delete("help");
      named.delete("h");
      expect([...named].filter((n) => !(n in c.options)).map((n) => `${c.name}: --${n}`)).toEqual([]);
      expect(
        Object.keys(c.options)
          .filter((n) => !named.has(n))
          .map((n) => `${c.name}: --${n}`),
      ).toEqual([]);
    }
  });
});

describe.skipIf(noFixtures)("labels and show", () => {
  test("labels -o FILE --json writes the JSON labels and prints them", () => {
    const dir = tmp();
    const r = cpuprof(["labels", "--host", SKL, "-o", join(dir, "l.json"), "--json"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(readFileSync(join(dir, "l.json"), "utf8"));
    expect(JSON.parse(r.stdout)["cpuprof.io/profile.skylake"]).toBe("true");
  });
  test("show names each source model once, with how many captures it stands for", () => {
    const made = cpuprof(["show", "sapphire-rapids"]).stdout;
    expect(made).toMatch(/made from\s+Intel\(R\) Xeon\(R\) Processor \(family 0x6 model 0x8f stepping 0x8\) x2;/);
  });
});
