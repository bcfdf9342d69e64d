// Content-keyed canonical objects: equal plain data (numbers, bigints, strings, booleans, null, arrays,
// plain objects) maps to one private copy, so caches keyed by object identity (WeakMaps in apply.ts) also
// hit for a fresh object with the same content, e.g. a profile parsed again from the same file. A cheap key
// picks the candidates and a full structural comparison decides, so a hit is always equal content.

function isPlainObject(o: object): boolean {
  const proto = Object.getPrototypeOf(o);
  return proto === Object.prototype || proto === null;
}

/** Structural equality of plain data; key order does not matter, a missing key differs from an undefined one. */
export function sameContent(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    // Equal primitives (most elements) compare without a call.
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && !sameContent(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b) || !isPlainObject(a) || !isPlainObject(b)) return false;
  const x = a as Record<string, unknown>, y = b as Record<string, unknown>;
  let keys = 0;
  for (const k in x) {
    keys++;
    const v = x[k], w = y[k];
    if (v !== w && !sameContent(v, w)) return false;
    if (w === undefined && !Object.hasOwn(y, k)) return false;
  }
  for (const _ in y) keys--;
  return keys === 0;
}

/**
 * canonical(x) returns the one private copy of x's content (made on first sight with structuredClone, so
 * later changes to a caller's object never reach it). `keyOf` must be a function of the content; it only
 * narrows the candidates. At most `capacity` contents are kept; past that the cache starts again.
 */
export class ContentCache<T extends object> {
  readonly #byKey = new Map<string, T[]>();
  readonly #canonicalOf = new WeakMap<T, T>();
  #size = 0;

  constructor(
    private readonly keyOf: (value: T) => string,
    private readonly capacity = 256,
  ) {}

  canonical(value: T): T {
    const known = this.#canonicalOf.get(value);
    if (known) return known;
    const key = this.keyOf(value);
    let candidates = this.#byKey.get(key);
    let found = candidates?.find((c) => sameContent(c, value));
    if (!found) {
      if (this.#size >= this.capacity) {
        this.#byKey.clear();
        this.#size = 0;
        candidates = undefined;
      }
      found = structuredClone(value);
      this.#canonicalOf.set(found, found);
      if (candidates) candidates.push(found);
      else this.#byKey.set(key, [found]);
      this.#size++;
    }
    this.#canonicalOf.set(value, found);
    return found;
  }
}
