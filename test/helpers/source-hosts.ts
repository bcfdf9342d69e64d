// The fixture hosts an embedded profile was generated from (its sourceHosts), found among every
// Firecracker fingerprint in ../shared/fixtures by model signature and kernel.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadHostFile } from "../../src/formats/host-file.ts";
import { hex32 } from "../../src/model/hex.ts";
import type { HostCapture } from "../../src/model/host.ts";
import type { Profile } from "../../src/model/profile.ts";
import { FIRECRACKER_HOSTS_DIR } from "./fixtures.ts";

let all: { file: string; host: HostCapture }[] | undefined;

/** Every fingerprint host in the fixtures (both kernels), loaded once. */
export function allFixtureHosts(): { file: string; host: HostCapture }[] {
  if (!all) {
    all = existsSync(FIRECRACKER_HOSTS_DIR)
      ? readdirSync(FIRECRACKER_HOSTS_DIR)
          .filter((f) => f.endsWith(".json"))
          .sort()
          .map((file) => ({ file, host: loadHostFile(readFileSync(join(FIRECRACKER_HOSTS_DIR, file), "utf8"), file) }))
      : [];
  }
  return all;
}

/** The profile's source hosts as generate names them (brand and signature), with the kernel. */
function sourceModel(h: HostCapture): string {
  const signature = `family ${hex32(h.family)} model ${hex32(h.model)} stepping ${hex32(h.stepping)}`;
  return h.brand ? `${h.brand} (${signature})` : `${h.vendorString} ${signature}`;
}

export function sourceFixtureHosts(profile: Profile): { file: string; host: HostCapture }[] {
  return allFixtureHosts().filter(({ host }) =>
    profile.sourceHosts.some(
      (s) => s.model === sourceModel(host) && s.kernel === host.kernel && s.microcode === host.microcode,
    ),
  );
}
