// Released profiles never change: their bytes must match profiles.lock, and regenerating them
// from the fixture hosts must give the same bytes (the policy may not drift under them).
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { deflateSync } from "fflate";
import { parseJsonText } from "../../src/model/document.ts";
import { parseProfile, profileToJson, serializeProfile } from "../../src/model/profile.ts";
import { hostProfile } from "../../src/profile/generate.ts";
import { EMBEDDED, embeddedProfileText, parseLock, sha256 } from "../../scripts/make-profiles.ts";
import { FIRECRACKER_HOSTS_DIR, fixturesMissing } from "../helpers/fixtures.ts";

const DIR = resolve(import.meta.dir, "../../profiles");
const lock = parseLock(readFileSync(join(DIR, "profiles.lock"), "utf8"));
const read = (name: string) => readFileSync(join(DIR, `${name}.json`), "utf8");
const NAMES = [...EMBEDDED.map((e) => e.name), "host"];

describe("profiles.lock", () => {
  test("names every embedded profile", () => {
    expect([...lock.keys()].sort()).toEqual([...NAMES].sort());
  });
  test.each(NAMES)("%s matches its locked sha256 and parses to itself", (name) => {
    const text = read(name);
    expect(sha256(text)).toBe(lock.get(name)!);
    const p = parseProfile(parseJsonText(text, name), name);
    expect(p.name).toBe(name);
    expect(serializeProfile(p)).toBe(text);
  });
  test("the host profile is kind host with no adjustments", () => {
    const p = parseProfile(parseJsonText(read("host"), "host"), "host");
    expect(p.kind).toBe("host");
    expect({ cpuid: p.cpuid, msrs: p.msrs }).toEqual({ cpuid: hostProfile("intel").cpuid, msrs: [] });
  });
  test.each(EMBEDDED.map((e) => e.name))("%s: CPUID + MSR data is at most 1 KB deflated", (name) => {
    const j = profileToJson(parseProfile(parseJsonText(read(name), name), name)) as { cpuid: unknown; msrs: unknown };
    const bytes = deflateSync(new TextEncoder().encode(JSON.stringify({ cpuid: j.cpuid, msrs: j.msrs })), {
      level: 9,
    }).length;
    expect(bytes).toBeLessThanOrEqual(1024);
  });
});

describe.skipIf(fixturesMissing !== undefined)(
  `regeneration${fixturesMissing ? ` (skipped: ${fixturesMissing})` : ""}`,
  () => {
    test.each(EMBEDDED.map((e) => [e.name, e] as const))(
      "%s regenerates byte-identical from the captures it is built over",
      (name, e) => {
        expect(e.files.length).toBe(e.name.startsWith("epyc-milan") ? 4 : e.files.length);
        expect(embeddedProfileText(e, FIRECRACKER_HOSTS_DIR)).toBe(read(name));
      },
    );
  },
);
