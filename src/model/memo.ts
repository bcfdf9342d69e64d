// One memo for pure functions: a value computed once per key (string keys, or objects held weakly).

/** `compute` memoised on a string key. */
export function memoByKey<T>(compute: (key: string) => T): (key: string) => T {
  const cache = new Map<string, T>();
  return (key) => {
    let v = cache.get(key);
    if (v === undefined) cache.set(key, (v = compute(key)));
    return v;
  };
}

/** `compute` memoised on an object, held weakly (a host capture, a policy, a profile). */
export function memoByObject<K extends object, T>(compute: (obj: K) => T): (obj: K) => T {
  const cache = new WeakMap<K, T>();
  return (obj) => {
    let v = cache.get(obj);
    if (v === undefined) cache.set(obj, (v = compute(obj)));
    return v;
  };
}

/** `compute` run on the first call only; later calls return its value. */
export function once<T>(compute: () => T): () => T {
  let done = false;
  let value: T;
  return () => {
    if (!done) {
      value = compute();
      done = true;
    }
    return value;
  };
}
