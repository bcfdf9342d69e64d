// The profiles the executable carries: the same bytes and the same parsed profiles as profiles/*.json.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { embeddedProfile, embeddedProfileNames, embeddedProfileText } from "../../src/embedded/profiles.ts";
import { parseJsonText } from "../../src/model/document.ts";
import { parseProfile } from "../../src/model/profile.ts";

const DIR = resolve(import.meta.dir, "../../profiles");
const FILES = readdirSync(DIR)
  .filter((f) => f.endsWith(".json"))
  .map((f) => f.slice(0, -".json".length))
  .sort();

describe("embedded profiles", () => {
  test("one per profiles/*.json", () => {
    expect(embeddedProfileNames()).toEqual(FILES);
  });
  test.each(FILES)(
    "%s: the source's exact bytes, and parsed (straight from the inflated JSON) to what the file parses to",
    (name) => {
      const text = readFileSync(join(DIR, `${name}.json`), "utf8");
      expect(embeddedProfileText(name)).toBe(text);
      const parsed = parseProfile(parseJsonText(text, name), name);
      expect(embeddedProfile(name)).toEqual(parsed);
      // parsed at bundle time (src/embedded/macro.ts): exactly parseProfile's result, key order and bigints included
      expect(Bun.deepEquals(embeddedProfile(name), parsed, true)).toBe(true);
      expect(JSON.stringify(Object.keys(embeddedProfile(name)!))).toBe(JSON.stringify(Object.keys(parsed)));
    },
  );
  test("an unknown name is undefined, not an error", () => {
    expect(embeddedProfile("no-such-profile")).toBeUndefined();
    expect(embeddedProfileText("no-such-profile")).toBeUndefined();
  });
});
