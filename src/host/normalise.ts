// Pure clean-up of a live KVM_GET_SUPPORTED_CPUID table so two captures of one host are identical.
import type { CpuidEntry, Register } from "../model/cpuid.ts";

/**
 * Fields that hold the APIC id of whichever host CPU happened to run the ioctl (kvm-x86.md sections 1
 * and 6): leaf 1 EBX[31:24] and the x2APIC id in 0xB/0x1F EDX. They describe the scheduler, not the
 * host, so a capture records them as 0 (a VMM sets them per vCPU anyway).
 */
export const PER_CPU_FIELDS: readonly { function: number; register: Register; mask: number }[] = [
  { function: 0x1, register: "ebx", mask: 0xff000000 },
  { function: 0xb, register: "edx", mask: 0xffffffff },
  { function: 0x1f, register: "edx", mask: 0xffffffff },
];

export function clearPerCpuFields(cpuid: readonly CpuidEntry[]): CpuidEntry[] {
  return cpuid.map((e) => {
    let out = e;
    for (const f of PER_CPU_FIELDS) {
      if (f.function === e.function) out = { ...out, [f.register]: (out[f.register] & ~f.mask) >>> 0 };
    }
    return out;
  });
}

/**
 * The first well-formed "microcode" line of /proc/cpuinfo (`microcode : 0x...` or bare hex digits, blanks
 * around) as canonical lower-case hex; null when there is none. Scanned by hand: the text is read once per
 * capture, and compiling a regex for it was ~0.1-0.3 ms of a cold live capture.
 */
export function microcodeFromCpuinfo(text: string): string | null {
  for (let at = 0; at < text.length; ) {
    const end = text.indexOf("\n", at);
    const line = text.slice(at, end < 0 ? text.length : end);
    at = end < 0 ? text.length : end + 1;
    if (!line.startsWith("microcode")) continue;
    const digits = microcodeDigits(line);
    if (digits !== null) return `0x${BigInt(`0x${digits}`).toString(16)}`;
  }
  return null;
}

const isBlank = (c: string) => c === " " || c === "\t" || c === "\r" || c === "\v" || c === "\f";
const isHexDigit = (c: string) => (c >= "0" && c <= "9") || (c >= "a" && c <= "f") || (c >= "A" && c <= "F");

/** The hex digits of one "microcode<blanks>:<blanks>[0x]HEX<blanks>" line, or null. */
function microcodeDigits(line: string): string | null {
  let i = "microcode".length;
  while (i < line.length && isBlank(line[i]!)) i++;
  if (line[i] !== ":") return null;
  i++;
  while (i < line.length && isBlank(line[i]!)) i++;
  if (line[i] === "0" && (line[i + 1] === "x" || line[i + 1] === "X") && isHexDigit(line[i + 2] ?? "")) i += 2;
  const start = i;
  while (i < line.length && isHexDigit(line[i]!)) i++;
  const digits = line.slice(start, i);
  while (i < line.length && isBlank(line[i]!)) i++;
  return digits.length > 0 && i === line.length ? digits : null;
}
