// Firecracker's register bitmaps: "0b" then one character per bit, most significant first.
// '0'/'1' set the bit, 'x' keeps the host's bit; '_' is a separator that carries no bit.

export interface TriBits {
  /** Bits the bitmap sets to 1. */
  ones: bigint;
  /** Bits marked 'x' (keep the host's value). */
  keep: bigint;
}

const BITMAP_RE = /^0b[01x_]+$/;

/** Parses a 0/1/x bitmap of exactly `width` bits (separators aside); undefined when malformed. */
export function parseTriBitmap(s: string, width: number): TriBits | undefined {
  if (s.length > 2 + width * 2 || !BITMAP_RE.test(s)) return undefined;
  const chars = s.slice(2).replaceAll("_", "");
  if (chars.length !== width) return undefined;
  let ones = 0n;
  let keep = 0n;
  for (const c of chars) {
    ones <<= 1n;
    keep <<= 1n;
    if (c === "1") ones |= 1n;
    else if (c === "x") keep |= 1n;
  }
  return { ones, keep };
}

/** A 0/1 bitmap of exactly `width` bits, no separators, no 'x' (what fingerprints and dumps hold). */
export function isExactBitmap(s: string, width: number): boolean {
  return s.length === 2 + width && /^0b[01]+$/.test(s);
}

export function parseExactBitmap(s: string): bigint {
  return BigInt(s);
}

/** Writes a bitmap: 'x' where `keep` has the bit, else the bit of `ones`. */
export function formatTriBitmap(bits: TriBits, width: number): string {
  let out = "0b";
  for (let i = width - 1; i >= 0; i--) {
    const b = 1n << BigInt(i);
    out += (bits.keep & b) !== 0n ? "x" : (bits.ones & b) !== 0n ? "1" : "0";
  }
  return out;
}

/** Parses an integer string as Firecracker writes them: "0x…" hex or decimal; undefined past `maxBits`. */
export function parseIntString(s: string, maxBits: 32 | 64): bigint | undefined {
  if (s.length > 24) return undefined;
  let v: bigint;
  if (/^0[xX][0-9a-fA-F]+$/.test(s)) v = BigInt(s);
  else if (/^[0-9]+$/.test(s)) v = BigInt(s);
  else return undefined;
  return v < 1n << BigInt(maxBits) ? v : undefined;
}
