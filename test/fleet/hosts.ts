// The seven real hosts of the shared fixtures, by short label; empty (and the tests skip) when absent.
import type { LabelledHost } from "../../src/fleet/synthetic.ts";
import { FIXTURE_HOSTS, fixtureHost as loadFixtureHost, fixturesMissing } from "../helpers/fixtures.ts";
import { HAVE_FIXTURES } from "../formats/fixtures.ts";

export { HAVE_FIXTURES };

/** `fingerprint_INTEL_SAPPHIRE_RAPIDS_6.1host.json` → `sapphire-rapids`. */
function labelOf(file: string): string {
  return file
    .replace(/^fingerprint_(INTEL|AMD)_/, "")
    .replace(/_6\.1host\.json$/, "")
    .toLowerCase()
    .replace(/_/g, "-");
}

// In file-name order, loaded once through the shared fixture loader.
export const FLEET: LabelledHost[] = fixturesMissing
  ? []
  : [...FIXTURE_HOSTS]
      .sort((a, b) => (a.file < b.file ? -1 : 1))
      .map((h) => ({ label: labelOf(h.file), host: loadFixtureHost(h.name) }));

export function fixtureHost(label: string): LabelledHost["host"] {
  const h = FLEET.find((x) => x.label === label);
  if (!h) throw new Error(`no fixture host ${label}`);
  return h.host;
}

export const INTEL = FLEET.filter((h) => h.host.vendor === "intel");
export const AMD = FLEET.filter((h) => h.host.vendor === "amd");
