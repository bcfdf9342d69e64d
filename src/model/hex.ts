// Hex strings are the wire format for every register and MSR value:
// lower-case, `0x` prefix mandatory, no padding (Cloud Hypervisor's serialisation).

const HEX_RE = /^0x(0|[1-9a-f][0-9a-f]*)$/;

/** True for a canonical hex string: lower-case, `0x`, no leading zeros. */
export function isCanonicalHex(s: string): boolean {
  return HEX_RE.test(s);
}

export function hex32(n: number): string {
  return `0x${(n >>> 0).toString(16)}`;
}

export function hex64(n: bigint): string {
  return `0x${BigInt.asUintN(64, n).toString(16)}`;
}

/** Parses a hex string (any case, leading zeros allowed) that fits in 32 bits; undefined otherwise. */
export function parseHex32(s: string): number | undefined {
  const v = parseHex64(s);
  return v !== undefined && v <= 0xffff_ffffn ? Number(v) : undefined;
}

/** Parses a hex string that fits in 64 bits; undefined otherwise. */
export function parseHex64(s: string): bigint | undefined {
  if (s.length > 130 || !/^0[xX][0-9a-fA-F]+$/.test(s)) return undefined;
  const v = BigInt(s);
  return v <= 0xffff_ffff_ffff_ffffn ? v : undefined;
}
