// The seven real hosts of the shared fixtures, by short label; empty (and the tests skip) when absent.
import { loadHostFile } from "../../src/formats/host-file.ts";
import type { LabelledHost } from "../../src/fleet/synthetic.ts";
import { fixtureFiles, fixtureText, HAVE_FIXTURES } from "../formats/fixtures.ts";

export { HAVE_FIXTURES };

const DIR = "hosts/firecracker";

/** `fingerprint_INTEL_SAPPHIRE_RAPIDS_6.1host.json` → `sapphire-rapids`. */
function labelOf(file: string): string {
  return file.replace(/^fingerprint_(INTEL|AMD)_/, "").replace(/_6\.1host\.json$/, "").toLowerCase().replace(/_/g, "-");
}

export const FLEET: LabelledHost[] = fixtureFiles(DIR, /^fingerprint_.*\.json$/).map((f) => ({
  label: labelOf(f),
  host: loadHostFile(fixtureText(`${DIR}/${f}`), f),
}));

export function fixtureHost(label: string): LabelledHost["host"] {
  const h = FLEET.find((x) => x.label === label);
  if (!h) throw new Error(`no fixture host ${label}`);
  return h.host;
}

export const INTEL = FLEET.filter((h) => h.host.vendor === "intel");
export const AMD = FLEET.filter((h) => h.host.vendor === "amd");
