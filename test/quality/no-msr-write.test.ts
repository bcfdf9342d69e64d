// cpuprof never writes a host MSR: no /dev/cpu/N/msr path and no msr-tools `wrmsr` invocation,
// neither in src/ nor in what ships (the bundle of src/cli/main.ts, and dist/cpuprof when built).
// Guest MSRs go through KVM_SET_MSRS on a vCPU fd; the only device the product opens is /dev/kvm.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { REPO, bundle, sourceFiles } from "../helpers/sources.ts";

/** Ways to reach a host MSR for writing: the msr driver's device files and msr-tools' wrmsr. */
const HOST_MSR_WRITE: readonly { what: string; re: RegExp }[] = [
  { what: "/dev/cpu path", re: /\/dev\/cpu\b/ },
  { what: "msr device path", re: /\bcpu\/(?:\d+|\$\{[^}]*\}|\*)\/msr\b/ },
  { what: "msr-tools", re: /\bmsr-tools\b/ },
  { what: "wrmsr command", re: /["'`]\s*wrmsr(?:["'`]|\s)/ },
  { what: "/dev/cpu built from parts", re: /["'`]\/dev\/?["'`]\s*[,+]\s*["'`]\/?cpu\b/ },
];

/** Every hit of a host-MSR-write pattern in `text`, as "what: line". */
export function hostMsrWrites(text: string): string[] {
  const hits: string[] = [];
  text.split("\n").forEach((line, i) => {
    for (const { what, re } of HOST_MSR_WRITE)
      if (re.test(line)) hits.push(`${what} (line ${i + 1}): ${line.trim().slice(0, 160)}`);
  });
  return hits;
}

/** Device paths ("/dev/...") named in `text`. */
function devicePaths(text: string): string[] {
  return [...new Set(text.match(/\/dev\/[A-Za-z0-9_./-]*/g) ?? [])].sort();
}

describe("the scanner catches host MSR writes (so the tests below can fail)", () => {
  test("positive and negative samples", () => {
    const writes = [
      `writeFileSync("/dev/cpu/0/msr", buf)`,
      // biome-ignore lint/suspicious/noTemplateCurlyInString: source text the guard must catch, not a template
      "const f = `/dev/cpu/${cpu}/msr`;",
      `openSync(join("/dev/cpu", String(n), "msr"), "r+")`,
      `const p = "/dev/" + "cpu/" + n + "/msr";`,
      `spawnSync("wrmsr", ["-a", "0x1a0", "0"])`,
      `execSync('wrmsr -p 0 0x10 0')`,
      `// needs msr-tools`,
    ];
    for (const w of writes) expect({ w, hits: hostMsrWrites(w).length > 0 }).toEqual({ w, hits: true });
    const harmless = [
      `feature(19, "wrmsrns")`,
      `X86_WRMSR: 30,`,
      `/** What KVM decides for a guest RDMSR/WRMSR of msr */`,
      `export const DEFAULT_KVM_PATH = "/dev/kvm";`,
      `{ linux: "wrmsr_xx_base_ns" }`,
      `kvm.setMsrs(vcpu, [{ index: 0x10a, value }])`,
    ];
    for (const h of harmless) expect({ h, hits: hostMsrWrites(h) }).toEqual({ h, hits: [] });
  });

  test("a /dev/cpu string survives bundling and is found in the bundle", () => {
    const dir = mkdtempSync(join(tmpdir(), "cpuprof-msr-canary-"));
    try {
      const entry = join(dir, "canary.ts");
      writeFileSync(
        entry,
        `import { openSync } from "node:fs";\nexport function poke(n: number) { return openSync("/dev/cpu/" + n + "/msr", "r+"); }\nconsole.log(poke);\n`,
      );
      const js = bundle(entry);
      expect(hostMsrWrites(js).length).toBeGreaterThan(0);
      expect(devicePaths(js)).toContain("/dev/cpu/");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("cpuprof never writes a host MSR", () => {
  test("src/ names no /dev/cpu path and no wrmsr command", () => {
    const files = sourceFiles(join(REPO, "src"));
    expect(files.length).toBeGreaterThan(20);
    const hits = files.flatMap((f) => hostMsrWrites(readFileSync(f, "utf8")).map((h) => `${relative(REPO, f)}: ${h}`));
    expect(hits).toEqual([]);
  });

  test("the bundle of src/cli/main.ts opens no device but /dev/kvm and names no /dev/cpu", () => {
    const js = bundle(join(REPO, "src/cli/main.ts"));
    expect(js.length).toBeGreaterThan(10_000);
    expect(hostMsrWrites(js)).toEqual([]);
    expect(devicePaths(js)).toEqual(["/dev/kvm"]);
  });

  const dist = join(REPO, "dist/cpuprof");
  test.skipIf(!existsSync(dist))("dist/cpuprof (the built executable) holds no /dev/cpu path", () => {
    const bytes = readFileSync(dist);
    expect(bytes.byteLength).toBeGreaterThan(1_000_000);
    expect(bytes.indexOf("/dev/cpu")).toBe(-1);
    expect(bytes.indexOf("msr-tools")).toBe(-1);
    // and the check itself works on this buffer: the /dev/kvm path of the product is there
    expect(bytes.indexOf("/dev/kvm")).toBeGreaterThan(-1);
  });
});
