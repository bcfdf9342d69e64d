// Generates src/catalogue/cpuid-features.ts from the reference table cpuid-bits.tsv
// (columns leaf, subleaf, reg, bit, linux, qemu, kvm), so the repository does not read ../shared at run time.
//   bun scripts/gen-catalogue.ts [path/to/cpuid-bits.tsv] > src/catalogue/cpuid-features.ts
// Name markers (kvm-x86.md section 5): trailing `*` hidden in /proc/cpuinfo, `!` not a Linux name,
// `?` new or uncertain, `(name)` the AMD alias in 0x80000001 EDX of the 1.EDX bit of that name.
import { readFileSync } from "node:fs";
import { join } from "node:path";

export interface RawRow {
  leaf: number;
  subleaf: number | null;
  register: string;
  bit: number;
  linux: string;
  qemu: string | null;
  kvm: string;
  hiddenInProc: boolean;
  notLinux: boolean;
  uncertain: boolean;
  alias: boolean;
}

export function parseTsv(text: string): RawRow[] {
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  const [header, ...rows] = lines;
  if (header?.split("\t").join(",") !== "leaf,subleaf,reg,bit,linux,qemu,kvm")
    throw new Error(`unexpected header: ${header}`);
  return rows.map((line, i) => {
    const cols = line.split("\t");
    if (cols.length !== 7) throw new Error(`row ${i + 2}: expected 7 columns, got ${cols.length}`);
    const [leaf, sub, reg, bit, name, qemu, kvm] = cols as [string, string, string, string, string, string, string];
    let linux = name;
    const alias = /^\(.*\)$/.test(linux);
    if (alias) linux = linux.slice(1, -1);
    const markers = /[*!?]*$/.exec(linux)![0];
    linux = linux.slice(0, linux.length - markers.length);
    if (!/^[a-z0-9_.]+$/.test(linux)) throw new Error(`row ${i + 2}: odd name ${name}`);
    return {
      leaf: Number(leaf),
      subleaf: sub === "-" ? null : Number(sub),
      register: reg.toLowerCase(),
      bit: Number(bit),
      linux,
      qemu: qemu === "-" ? null : qemu,
      kvm,
      hiddenInProc: markers.includes("*"),
      notLinux: markers.includes("!"),
      uncertain: markers.includes("?"),
      alias,
    };
  });
}

/**
 * Bits cpuprof names beyond the reference table, each with where the name comes from. Appended in table
 * order, so the catalogue stays the one place every bit is named.
 */
export const EXTRA_ROWS: readonly RawRow[] = [
  // Linux X86_FEATURE_AMD_IBRS_SAME_MODE (13*32+19); KVM passes it to guests (APM: IbrsSameMode).
  {
    leaf: 0x80000008,
    subleaf: null,
    register: "ebx",
    bit: 19,
    linux: "amd_ibrs_same_mode",
    qemu: null,
    kvm: "F",
    hiddenInProc: true,
    notLinux: false,
    uncertain: false,
    alias: false,
  },
  // Leaf 6 EAX (SDM: thermal and power management): Linux X86_FEATURE_DTHERM, IDA, ARAT.
  {
    leaf: 0x6,
    subleaf: null,
    register: "eax",
    bit: 0,
    linux: "dtherm",
    qemu: null,
    kvm: "-",
    hiddenInProc: false,
    notLinux: false,
    uncertain: false,
    alias: false,
  },
  {
    leaf: 0x6,
    subleaf: null,
    register: "eax",
    bit: 1,
    linux: "ida",
    qemu: null,
    kvm: "-",
    hiddenInProc: false,
    notLinux: false,
    uncertain: false,
    alias: false,
  },
  {
    leaf: 0x6,
    subleaf: null,
    register: "eax",
    bit: 2,
    linux: "arat",
    qemu: "arat",
    kvm: "F",
    hiddenInProc: false,
    notLinux: false,
    uncertain: false,
    alias: false,
  },
  // Leaf 7 subleaf 1 EBX[0]: Linux X86_FEATURE_INTEL_PPIN (protected processor inventory number).
  {
    leaf: 0x7,
    subleaf: 1,
    register: "ebx",
    bit: 0,
    linux: "intel_ppin",
    qemu: null,
    kvm: "-",
    hiddenInProc: false,
    notLinux: false,
    uncertain: false,
    alias: false,
  },
  // XCR0 components a guest may enable (CPUID 0xD.0 EAX; SDM vol. 1 13.1), named xcr0_<component>.
  {
    leaf: 0xd,
    subleaf: 0,
    register: "eax",
    bit: 0,
    linux: "xcr0_x87",
    qemu: null,
    kvm: "F",
    hiddenInProc: true,
    notLinux: true,
    uncertain: false,
    alias: false,
  },
  {
    leaf: 0xd,
    subleaf: 0,
    register: "eax",
    bit: 1,
    linux: "xcr0_sse",
    qemu: null,
    kvm: "F",
    hiddenInProc: true,
    notLinux: true,
    uncertain: false,
    alias: false,
  },
  {
    leaf: 0xd,
    subleaf: 0,
    register: "eax",
    bit: 2,
    linux: "xcr0_avx",
    qemu: null,
    kvm: "F",
    hiddenInProc: true,
    notLinux: true,
    uncertain: false,
    alias: false,
  },
  {
    leaf: 0xd,
    subleaf: 0,
    register: "eax",
    bit: 3,
    linux: "xcr0_bndregs",
    qemu: null,
    kvm: "F",
    hiddenInProc: true,
    notLinux: true,
    uncertain: false,
    alias: false,
  },
  {
    leaf: 0xd,
    subleaf: 0,
    register: "eax",
    bit: 4,
    linux: "xcr0_bndcsr",
    qemu: null,
    kvm: "F",
    hiddenInProc: true,
    notLinux: true,
    uncertain: false,
    alias: false,
  },
  {
    leaf: 0xd,
    subleaf: 0,
    register: "eax",
    bit: 5,
    linux: "xcr0_opmask",
    qemu: null,
    kvm: "F",
    hiddenInProc: true,
    notLinux: true,
    uncertain: false,
    alias: false,
  },
  {
    leaf: 0xd,
    subleaf: 0,
    register: "eax",
    bit: 6,
    linux: "xcr0_zmm_hi256",
    qemu: null,
    kvm: "F",
    hiddenInProc: true,
    notLinux: true,
    uncertain: false,
    alias: false,
  },
  {
    leaf: 0xd,
    subleaf: 0,
    register: "eax",
    bit: 7,
    linux: "xcr0_hi16_zmm",
    qemu: null,
    kvm: "F",
    hiddenInProc: true,
    notLinux: true,
    uncertain: false,
    alias: false,
  },
  {
    leaf: 0xd,
    subleaf: 0,
    register: "eax",
    bit: 9,
    linux: "xcr0_pkru",
    qemu: null,
    kvm: "F",
    hiddenInProc: true,
    notLinux: true,
    uncertain: false,
    alias: false,
  },
  {
    leaf: 0xd,
    subleaf: 0,
    register: "eax",
    bit: 17,
    linux: "xcr0_xtilecfg",
    qemu: null,
    kvm: "F",
    hiddenInProc: true,
    notLinux: true,
    uncertain: false,
    alias: false,
  },
  {
    leaf: 0xd,
    subleaf: 0,
    register: "eax",
    bit: 18,
    linux: "xcr0_xtiledata",
    qemu: null,
    kvm: "F",
    hiddenInProc: true,
    notLinux: true,
    uncertain: false,
    alias: false,
  },
  {
    leaf: 0xd,
    subleaf: 0,
    register: "eax",
    bit: 19,
    linux: "xcr0_apx",
    qemu: null,
    kvm: "F",
    hiddenInProc: true,
    notLinux: true,
    uncertain: false,
    alias: false,
  },
  // IA32_XSS supervisor components (CPUID 0xD.1 ECX), named xss_<component>.
  {
    leaf: 0xd,
    subleaf: 1,
    register: "ecx",
    bit: 8,
    linux: "xss_pt",
    qemu: null,
    kvm: "F",
    hiddenInProc: true,
    notLinux: true,
    uncertain: false,
    alias: false,
  },
  {
    leaf: 0xd,
    subleaf: 1,
    register: "ecx",
    bit: 10,
    linux: "xss_pasid",
    qemu: null,
    kvm: "F",
    hiddenInProc: true,
    notLinux: true,
    uncertain: false,
    alias: false,
  },
  {
    leaf: 0xd,
    subleaf: 1,
    register: "ecx",
    bit: 11,
    linux: "xss_cet_u",
    qemu: null,
    kvm: "F",
    hiddenInProc: true,
    notLinux: true,
    uncertain: false,
    alias: false,
  },
  {
    leaf: 0xd,
    subleaf: 1,
    register: "ecx",
    bit: 12,
    linux: "xss_cet_s",
    qemu: null,
    kvm: "F",
    hiddenInProc: true,
    notLinux: true,
    uncertain: false,
    alias: false,
  },
  {
    leaf: 0xd,
    subleaf: 1,
    register: "ecx",
    bit: 13,
    linux: "xss_hdc",
    qemu: null,
    kvm: "F",
    hiddenInProc: true,
    notLinux: true,
    uncertain: false,
    alias: false,
  },
  {
    leaf: 0xd,
    subleaf: 1,
    register: "ecx",
    bit: 14,
    linux: "xss_uintr",
    qemu: null,
    kvm: "F",
    hiddenInProc: true,
    notLinux: true,
    uncertain: false,
    alias: false,
  },
  {
    leaf: 0xd,
    subleaf: 1,
    register: "ecx",
    bit: 15,
    linux: "xss_lbr",
    qemu: null,
    kvm: "F",
    hiddenInProc: true,
    notLinux: true,
    uncertain: false,
    alias: false,
  },
  {
    leaf: 0xd,
    subleaf: 1,
    register: "ecx",
    bit: 16,
    linux: "xss_hwp",
    qemu: null,
    kvm: "F",
    hiddenInProc: true,
    notLinux: true,
    uncertain: false,
    alias: false,
  },
  // Leaf 0x24 EBX: AVX10 vector lengths (Intel AVX10 spec).
  {
    leaf: 0x24,
    subleaf: 0,
    register: "ebx",
    bit: 16,
    linux: "avx10_128",
    qemu: null,
    kvm: "F",
    hiddenInProc: true,
    notLinux: true,
    uncertain: false,
    alias: false,
  },
  {
    leaf: 0x24,
    subleaf: 0,
    register: "ebx",
    bit: 17,
    linux: "avx10_256",
    qemu: null,
    kvm: "F",
    hiddenInProc: true,
    notLinux: true,
    uncertain: false,
    alias: false,
  },
  {
    leaf: 0x24,
    subleaf: 0,
    register: "ebx",
    bit: 18,
    linux: "avx10_512",
    qemu: null,
    kvm: "F",
    hiddenInProc: true,
    notLinux: true,
    uncertain: false,
    alias: false,
  },
  // Leaf 0x8000001A EAX (APM: performance optimisation identifiers).
  {
    leaf: 0x8000001a,
    subleaf: null,
    register: "eax",
    bit: 0,
    linux: "fp128",
    qemu: null,
    kvm: "F",
    hiddenInProc: true,
    notLinux: true,
    uncertain: false,
    alias: false,
  },
  {
    leaf: 0x8000001a,
    subleaf: null,
    register: "eax",
    bit: 1,
    linux: "movu",
    qemu: null,
    kvm: "F",
    hiddenInProc: true,
    notLinux: true,
    uncertain: false,
    alias: false,
  },
  {
    leaf: 0x8000001a,
    subleaf: null,
    register: "eax",
    bit: 2,
    linux: "fp256",
    qemu: null,
    kvm: "F",
    hiddenInProc: true,
    notLinux: true,
    uncertain: false,
    alias: false,
  },
];

/**
 * Reference names cpuprof replaces, each with why: a name must point at one bit (the AMD 0x80000001 EDX
 * aliases excepted, which report once as their leaf-1 bit).
 */
export const RENAMED: ReadonlyMap<string, string> = new Map([
  // The table names AMD's hardware thermal control (APM: 0x80000007 EDX[4] TM) "tm", as Intel's 1.EDX[29].
  ["0x80000007.-.edx.4", "amd_htc"],
]);

/** The reference rows with EXTRA_ROWS merged in by (leaf, subleaf, register, bit), and RENAMED applied. */
export function withExtras(reference: readonly RawRow[]): RawRow[] {
  const rows = reference.map((r) => {
    const to = RENAMED.get(`0x${r.leaf.toString(16)}.${r.subleaf ?? "-"}.${r.register}.${r.bit}`);
    return to ? { ...r, linux: to, notLinux: true } : r;
  });
  const key = (r: RawRow) => [r.leaf, r.subleaf ?? -1, r.register, r.bit] as const;
  const cmp = (a: RawRow, b: RawRow) => {
    const x = key(a),
      y = key(b);
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1;
    return 0;
  };
  const out = [...rows];
  for (const extra of EXTRA_ROWS) {
    const at = out.findIndex((r) => r.leaf === extra.leaf && cmp(r, extra) > 0);
    out.splice(at === -1 ? out.length : at, 0, extra);
  }
  return out;
}

export function renderTable(rows: readonly RawRow[]): string {
  const flag = (r: RawRow) =>
    [
      r.hiddenInProc && "hiddenInProc: true",
      r.notLinux && "notLinux: true",
      r.uncertain && "uncertain: true",
      r.alias && "aliasOfLeaf1Edx: true",
    ]
      .filter(Boolean)
      .map((s) => `, ${s}`)
      .join("");
  const body = rows
    .map(
      (r) =>
        `  { leaf: 0x${r.leaf.toString(16)}, subleaf: ${r.subleaf ?? "null"}, register: "${r.register}", bit: ${r.bit}, linux: ${JSON.stringify(r.linux)}, qemu: ${
          r.qemu === null ? "null" : JSON.stringify(r.qemu)
        }, kvm: ${JSON.stringify(r.kvm)}${flag(r)} },`,
    )
    .join("\n");
  return `// GENERATED by scripts/gen-catalogue.ts from reference/cpuid-bits.tsv: do not edit by hand.
import type { CpuidFeature } from "./types.ts";

export const CPUID_FEATURES: readonly CpuidFeature[] = [
${body}
];
`;
}

if (import.meta.main) {
  const path = process.argv[2] ?? join(import.meta.dir, "../../shared/reference/cpuid-bits.tsv");
  process.stdout.write(renderTable(withExtras(parseTsv(readFileSync(path, "utf8")))));
}
