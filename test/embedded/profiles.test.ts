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
      expect(embeddedProfile(name)).toEqual(parseProfile(parseJsonText(text, name), name));
    },
  );
  test("an unknown name is undefined, not an error", () => {
    expect(embeddedProfile("no-such-profile")).toBeUndefined();
    expect(embeddedProfileText("no-such-profile")).toBeUndefined();
  });
});
