// Fleet input: files, directories, globs and NDJSON on stdin, deduplicated by content before any work.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DocumentSplitter } from "../../src/cli/captures.ts";
import { CaptureSet } from "../../src/fleet/capture-set.ts";
import { loadHostFile } from "../../src/formats/host-file.ts";
import { hostToJson, serializeHost, type HostCapture } from "../../src/model/host.ts";
import { writeFleet } from "../../scripts/gen-fleet.ts";
import { fixtureHosts, fixturesMissing } from "../helpers/fixtures.ts";
import { ROOT, cpuprof } from "./run.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

function split(text: string, chunks: number[]): string[] {
  const out: string[] = [];
  const s = new DocumentSplitter("test");
  const bytes = enc(text);
  let at = 0;
  for (const c of chunks) {
    s.push(bytes.subarray(at, Math.min(bytes.length, at + c)), (d) => out.push(dec(d)));
    at = Math.min(bytes.length, at + c);
  }
  s.push(bytes.subarray(at), (d) => out.push(dec(d)));
  s.finish((d) => out.push(dec(d)));
  return out;
}

describe("DocumentSplitter", () => {
  const docs = [{ a: 1, b: [1, 2, { c: "}" }] }, { x: "line\nbreak" }, { y: { z: {} } }];
  test("NDJSON lines, pretty documents one after another, or both, in any chunking: the same documents", () => {
    fc.assert(
      fc.property(
        fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 20 }),
        fc.boolean(),
        (pretty, chunks, crlf) => {
          const parts = pretty.map((p, i) => (p ? JSON.stringify(docs[i % 3], null, 2) : JSON.stringify(docs[i % 3])));
          let text = `${parts.join("\n")}\n\n`;
          if (crlf) text = text.replace(/\n/g, "\r\n");
          expect(split(text, chunks).map((d) => JSON.parse(d))).toEqual(pretty.map((_, i) => docs[i % 3]));
        },
      ),
      { numRuns: 200 },
    );
  });
  test("the last document needs no final newline; an unterminated pretty document is a one-line error", () => {
    expect(split(`{"a":1}\n{"b":2}`, [])).toEqual([`{"a":1}`, `{"b":2}`]);
    expect(() => split(`{\n  "a": 1\n`, [])).toThrow("test: a capture does not end");
  });
});

describe.skipIf(fixturesMissing !== undefined)("CaptureSet and the fleet commands", () => {
  const hosts = () => [...fixtureHosts().values()];
  const compact = (h: HostCapture) => JSON.stringify(hostToJson(h));

  test("identical captures are parsed once and counted; the same capture spelled differently is one capture", () => {
    const [a, b] = hosts();
    const set = new CaptureSet();
    let parsed = 0;
    const parse = (t: string, l: string) => (parsed++, loadHostFile(t, l));
    for (let i = 0; i < 5; i++) set.add(`a${i}`, enc(compact(a!)), parse);
    set.add("a-pretty", enc(serializeHost(a!)), parse);
    set.add("b", enc(compact(b!)), parse);
    expect(set.total).toBe(7);
    expect(set.unique.map((u) => [u.label, u.count])).toEqual([
      ["a0", 6],
      ["b", 1],
    ]);
    expect(parsed).toBe(3); // compact a once, pretty a once, b once
  });

  test("matrix reads NDJSON on stdin, a directory and a glob alike, and shows how many machines share each capture", () => {
    const dir = mkdtempSync(join(tmpdir(), "cpuprof-fleet-"));
    const [skl, , , spr] = hosts();
    mkdirSync(join(dir, "hosts"));
    writeFileSync(join(dir, "hosts/skl.json"), serializeHost(skl!));
    writeFileSync(join(dir, "hosts/spr.json"), serializeHost(spr!));
    const ndjson = `${[skl, skl, spr, skl].map((h) => compact(h!)).join("\n")}\n`;
    const viaStdin = cpuprof(["matrix", "-", "--profiles", "skylake,sapphire-rapids", "--json"], { stdin: ndjson });
    expect(viaStdin.code).toBe(1); // Skylake cannot run sapphire-rapids
    const m = JSON.parse(viaStdin.stdout);
    expect(m.hosts).toEqual([
      { label: "stdin:1", count: 3 },
      { label: "stdin:3", count: 1 },
    ]);
    expect(m.groups.find((g: { profile: string }) => g.profile === "skylake").machines).toBe(4);
    const text = cpuprof(["matrix", "-", "--profiles", "skylake"], { stdin: ndjson }).stdout;
    expect(text).toContain("stdin:1 x3");
    expect(text).toContain("4 captures, 2 distinct");
    const viaDir = JSON.parse(
      cpuprof(["matrix", join(dir, "hosts"), "--profiles", "skylake,sapphire-rapids", "--json"]).stdout,
    );
    const viaGlob = JSON.parse(
      cpuprof(["matrix", "hosts/*.json", "--profiles", "skylake,sapphire-rapids", "--json"], { cwd: dir }).stdout,
    );
    expect(viaGlob).toEqual(viaDir);
    expect(viaDir.cells.map((c: { compatible: boolean }) => c.compatible)).toEqual(
      m.cells.map((c: { compatible: boolean }) => c.compatible),
    );
    const none = cpuprof(["matrix", "nothing/*.json"], { cwd: dir });
    expect(none.code).toBe(2);
    expect(none.stderr).toBe("cpuprof: matrix: no file matches 'nothing/*.json'\n");
  });

  test("baseline from NDJSON with duplicates is byte-identical to the baseline of the distinct files", () => {
    const dir = mkdtempSync(join(tmpdir(), "cpuprof-fleet-"));
    const intel = hosts()
      .filter((h) => h.vendor === "intel")
      .slice(0, 3);
    const files = intel.map((h, i) => {
      const f = join(dir, `h${i}.json`);
      writeFileSync(f, serializeHost(h));
      return f;
    });
    const ndjson = [...intel, ...intel, intel[0]!].map(compact).join("\n");
    const fromStdin = cpuprof(["baseline", "-", "--name", "fleet", "--json"], { stdin: ndjson });
    const fromFiles = cpuprof(["baseline", ...files, "--name", "fleet", "--json"]);
    expect(fromStdin.code).toBe(0);
    expect(fromStdin.stdout).toBe(fromFiles.stdout);
    const summary = cpuprof(["baseline", "-", "--name", "fleet", "-o", join(dir, "out.json")], { stdin: ndjson });
    expect(summary.stdout).toStartWith("baseline fleet of 7 hosts, 3 distinct (intel)");
  });

  test("gen-fleet: every line is a capture; lines repeat a few distinct configurations", () => {
    const dir = mkdtempSync(join(tmpdir(), "cpuprof-gen-"));
    const { openSync, closeSync } = require("node:fs") as typeof import("node:fs");
    const fd = openSync(join(dir, "f.ndjson"), "w");
    const r = writeFleet(fd, { count: 2000, seed: 3 });
    closeSync(fd);
    const lines = readFileSync(join(dir, "f.ndjson"), "utf8").trimEnd().split("\n");
    expect(lines).toHaveLength(2000);
    const set = new CaptureSet();
    lines.forEach((l, i) => set.add(`l${i}`, enc(l), loadHostFile));
    expect(set.unique.length).toBe(r.distinct);
    expect(r.distinct).toBeGreaterThan(50);
    expect(new Set(set.unique.map((u) => u.host.kernel)).size).toBeGreaterThan(6);
    expect(new Set(set.unique.map((u) => u.host.microcode)).size).toBeGreaterThan(6);
  });

  const SCRIPT = "/usr/bin/script";
  test.skipIf(!existsSync(SCRIPT))(
    `matrix shows its progress line on a terminal and never in a pipe${existsSync(SCRIPT) ? "" : ` (skipped: no ${SCRIPT})`}`,
    () => {
      const dir = mkdtempSync(join(tmpdir(), "cpuprof-fleet-"));
      const file = join(dir, "fleet.ndjson");
      writeFileSync(
        file,
        hosts()
          .slice(0, 2)
          .map((h) => compact(h))
          .join("\n"),
      );
      const args = [process.execPath, join(ROOT, "src/cli/main.ts"), "matrix", file, "--profiles", "skylake"];
      const piped = Bun.spawnSync(args, { stdout: "pipe", stderr: "pipe" });
      expect(piped.exitCode).toBe(0);
      expect(piped.stderr.toString()).toBe("");
      // script(1) runs the command on a new pseudo-terminal and copies what it writes to our pipe.
      const tty = Bun.spawnSync([SCRIPT, "-qec", args.map((a) => `'${a}'`).join(" "), "/dev/null"], {
        stdout: "pipe",
        stderr: "pipe",
      });
      expect(tty.exitCode).toBe(0);
      expect(tty.stdout.toString()).toContain("\r\x1b[Kmatrix: reading captures: 1 read, 1 unique");
      expect(tty.stdout.toString()).toContain("fleet:2");
    },
  );
});
