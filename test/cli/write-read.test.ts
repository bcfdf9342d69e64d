// What we write, we read: every command that writes a document, run as a user runs it, and its
// output read back by the command (or library reader) that reads that format. And a writer that
// would emit something its reader refuses fails with one line and writes nothing.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cpuidFromKvmCpuid2Bytes, msrFilterFromBytes, msrsFromKvmMsrsBytes } from "../../src/formats/binary.ts";
import { jsonSchemaFor } from "../../src/model/json-schema.ts";
import { embeddedProfile } from "../../src/embedded/profiles.ts";
import { profileToJson } from "../../src/model/profile.ts";
import { loadSeeds } from "../quality/generators.ts";
import { cpuprof } from "./run.ts";

let dir: string;
let host: string;
const at = (name: string) => join(dir, name);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "cpuprof-wr-"));
  host = at("host-in.json");
  writeFileSync(host, JSON.stringify(loadSeeds().find((s) => s.label === "synthetic:own")!.doc));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function ok(argv: string[]): string {
  const r = cpuprof(argv, { cwd: dir });
  if (r.code !== 0) throw new Error(`cpuprof ${argv.join(" ")}: exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** Each writing command: how to make the file, and how to read it back. */
const WRITERS: { name: string; write: () => void; read: () => void }[] = [
  {
    name: "host -o, read by host --from",
    write: () => ok(["host", "--from", host, "-o", at("host.json")]),
    read: () => expect(JSON.parse(ok(["host", "--from", at("host.json"), "--json"])).format).toBe("cpuprof-host"),
  },
  {
    name: "generate -o, read by show",
    write: () => ok(["generate", "--host", host, "--name", "gen", "-o", at("gen.json")]),
    read: () => expect(JSON.parse(ok(["show", at("gen.json"), "--json"])).name).toBe("gen"),
  },
  {
    name: "baseline -o, read by show",
    write: () => ok(["baseline", host, at("host.json"), "--name", "base", "-o", at("base.json")]),
    read: () => expect(JSON.parse(ok(["show", at("base.json"), "--json"])).name).toBe("base"),
  },
  {
    name: "export chv, read by import chv",
    write: () => ok(["export", "chv", "skylake", at("chv")]),
    read: () =>
      ok([
        "import",
        "chv",
        at("chv/skylake.cpuid.json"),
        at("chv/skylake.msr.json"),
        "--name",
        "back",
        "--vendor",
        "intel",
        "-o",
        at("chv-back.json"),
      ]),
  },
  {
    name: "import chv -o, read by show",
    write: () =>
      ok([
        "import",
        "chv",
        at("chv/skylake.cpuid.json"),
        at("chv/skylake.msr.json"),
        "--name",
        "imp",
        "--vendor",
        "intel",
        "-o",
        at("imp-chv.json"),
      ]),
    read: () => expect(JSON.parse(ok(["show", at("imp-chv.json"), "--json"])).name).toBe("imp"),
  },
  {
    name: "export firecracker -o, read by import firecracker",
    write: () => ok(["export", "firecracker", "skylake", "-o", at("fc.json")]),
    read: () => ok(["import", "firecracker", at("fc.json"), "--name", "fc", "--vendor", "intel"]),
  },
  {
    name: "import firecracker -o, read by show",
    write: () =>
      ok(["import", "firecracker", at("fc.json"), "--name", "fc", "--vendor", "intel", "-o", at("imp-fc.json")]),
    read: () => expect(JSON.parse(ok(["show", at("imp-fc.json"), "--json"])).name).toBe("fc"),
  },
  {
    name: "apply --format firecracker -o, read by import firecracker",
    write: () => ok(["apply", "host", "--host", host, "--format", "firecracker", "-o", at("apply-fc.json")]),
    read: () => ok(["import", "firecracker", at("apply-fc.json"), "--name", "afc", "--vendor", "intel"]),
  },
  {
    name: "apply --format kvm-cpuid2 / kvm-msrs / msr-filter -o, read by their decoders",
    write: () => {
      for (const f of ["kvm-cpuid2", "kvm-msrs", "msr-filter"])
        ok(["apply", "host", "--host", host, "--format", f, "-o", at(`${f}.bin`)]);
    },
    read: () => {
      expect(cpuidFromKvmCpuid2Bytes(new Uint8Array(readFileSync(at("kvm-cpuid2.bin")))).length).toBeGreaterThan(0);
      expect(Array.isArray(msrsFromKvmMsrsBytes(new Uint8Array(readFileSync(at("kvm-msrs.bin")))))).toBe(true);
      expect(msrFilterFromBytes(new Uint8Array(readFileSync(at("msr-filter.bin"))))).toBeDefined();
    },
  },
  {
    name: "apply --format json -o, read as JSON",
    write: () => ok(["apply", "host", "--host", host, "--format", "json", "-o", at("vcpu.json")]),
    read: () => expect(JSON.parse(readFileSync(at("vcpu.json"), "utf8")).format).toBe("cpuprof-vcpu-config"),
  },
  {
    name: "schema profile|host -o, read as JSON: the schema cpuprof validates with",
    write: () => {
      ok(["schema", "profile", "-o", at("profile.schema.json")]);
      ok(["schema", "host", "-o", at("host.schema.json")]);
    },
    read: () => {
      for (const [file, kind] of [
        ["profile.schema.json", "profile"],
        ["host.schema.json", "host"],
      ] as const)
        expect(JSON.parse(readFileSync(at(file), "utf8"))).toEqual(jsonSchemaFor(kind));
    },
  },
];

describe("what we write, we read", () => {
  for (const w of WRITERS)
    test(w.name, () => {
      w.write();
      w.read();
    });
});

describe("a writer refuses what its reader would refuse", () => {
  test("import firecracker of a 4096-leaf template: exit 2 naming the limit, nothing written", () => {
    const bitmap = `0b${"x".repeat(31)}1`;
    const template = {
      cpuid_modifiers: Array.from({ length: 4096 }, (_, i) => ({
        leaf: `0x${(0x40000100 + i).toString(16)}`,
        subleaf: "0x0",
        flags: 0,
        modifiers: ["eax", "ebx", "ecx", "edx"].map((register) => ({ register, bitmap })),
      })),
      msr_modifiers: [],
    };
    writeFileSync(at("huge-template.json"), JSON.stringify(template));
    const out = at("huge-profile.json");
    const r = cpuprof(
      ["import", "firecracker", at("huge-template.json"), "--name", "huge", "--vendor", "intel", "-o", out],
      { cwd: dir },
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^cpuprof: the profile to write \(huge\): \$\.cpuid: expected <=8192( register adjustments in all)?, got an array\n$/,
    );
    expect(existsSync(out)).toBe(false);
  });

  test("an embedded profile exports to files that import back to the same adjustments", () => {
    mkdirSync(at("rt"), { recursive: true });
    ok(["export", "chv", "sapphire-rapids", at("rt")]);
    const back = JSON.parse(
      ok([
        "import",
        "chv",
        at("rt/sapphire-rapids.cpuid.json"),
        at("rt/sapphire-rapids.msr.json"),
        "--name",
        "sapphire-rapids",
        "--vendor",
        "intel",
      ]),
    );
    const original = profileToJson(embeddedProfile("sapphire-rapids")!) as {
      cpuid: unknown;
      msrs: unknown;
      permittedMsrs: unknown;
    };
    expect([back.cpuid, back.msrs, back.permittedMsrs]).toEqual([
      original.cpuid,
      original.msrs,
      original.permittedMsrs,
    ]);
  });
});
