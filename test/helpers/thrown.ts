/** What `fn` throws, so one failure can be checked several ways; fails the test when nothing is thrown. */
export function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a throw");
}
