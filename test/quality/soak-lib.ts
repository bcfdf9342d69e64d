// Resource soak shared by scripts/soak.ts and test/quality/soak.test.ts: many rounds of live capture,
// apply and the real guest check on /dev/kvm in one process, with the process's open fds, memory
// mappings (all, and shared ones: kvm_run and guest memory are MAP_SHARED) and RSS before and after.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { embeddedProfile } from "../../src/embedded/profiles.ts";
import { captureLiveHost } from "../../src/host/live.ts";
import type { Profile } from "../../src/model/profile.ts";
import { applyProfile } from "../../src/profile/apply.ts";
import { generateProfile } from "../../src/profile/generate.ts";
import { verifyProfile } from "../../src/verify/run.ts";

export interface Resources {
  fds: number;
  mappings: number;
  sharedMappings: number;
  rssKiB: number;
}

export function resources(): Resources {
  const maps = readFileSync("/proc/self/maps", "utf8").trim().split("\n");
  const status = readFileSync("/proc/self/status", "utf8");
  return {
    fds: readdirSync("/proc/self/fd").length,
    mappings: maps.length,
    // perms is the second field: r/w/x then p (private) or s (shared)
    sharedMappings: maps.filter((l) => l.split(/\s+/)[1]?.[3] === "s").length,
    rssKiB: Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? NaN),
  };
}

/** Resources after a full garbage collection, so finalizers have run and the figures are stable. */
export function settledResources(): Resources {
  Bun.gc(true);
  return resources();
}

/** Why the soak cannot run here, or undefined. */
export function kvmMissing(): string | undefined {
  if (!existsSync("/dev/kvm")) return "no /dev/kvm";
  try {
    captureLiveHost();
    return undefined;
  } catch (e) {
    return `/dev/kvm unusable: ${(e as Error).message}`;
  }
}

export interface SoakOptions {
  count: number;
  /** Rounds before the first measurement (JIT, lazily loaded modules, caches). */
  warmup?: number;
  /** An embedded profile name; default: a profile generated from the live host, which it can always run. */
  profile?: string;
  onProgress?: (done: number) => void;
}

export interface SoakResult {
  profile: string;
  iterations: number;
  guestRuns: number;
  guestErrors: number;
  before: Resources;
  after: Resources;
  msPerIteration: number;
}

function pickProfile(name: string | undefined): Profile {
  if (name !== undefined) {
    const p = embeddedProfile(name);
    if (!p) throw new Error(`no embedded profile ${name}`);
    return p;
  }
  return generateProfile(captureLiveHost(), { name: "soak", description: "soak test" }).profile;
}

/** One round: a fresh host object each time, so apply's cache does not hide work. */
function round(profile: Profile): { guest: boolean; error: boolean } {
  const host = captureLiveHost();
  applyProfile(profile, host);
  const r = verifyProfile(profile, host, { guest: true });
  return { guest: r.guest !== null, error: r.error !== undefined };
}

export function soak(options: SoakOptions): SoakResult {
  const profile = pickProfile(options.profile);
  for (let i = 0; i < (options.warmup ?? 20); i++) round(profile);
  const before = settledResources();
  let guestRuns = 0;
  let guestErrors = 0;
  const started = performance.now();
  for (let i = 0; i < options.count; i++) {
    const r = round(profile);
    if (r.guest) guestRuns++;
    if (r.error) guestErrors++;
    options.onProgress?.(i + 1);
  }
  const msPerIteration = options.count ? (performance.now() - started) / options.count : 0;
  return {
    profile: profile.name,
    iterations: options.count,
    guestRuns,
    guestErrors,
    before,
    after: settledResources(),
    msPerIteration,
  };
}

/** What grew that must not: fds and shared mappings (a leaked vCPU or guest memory). */
export function leaks(r: SoakResult): string[] {
  const out: string[] = [];
  if (r.after.fds > r.before.fds) out.push(`open fds grew from ${r.before.fds} to ${r.after.fds}`);
  if (r.after.sharedMappings > r.before.sharedMappings)
    out.push(`shared mappings grew from ${r.before.sharedMappings} to ${r.after.sharedMappings}`);
  return out;
}

export function formatResources(r: Resources): string {
  return `fds ${r.fds}, mappings ${r.mappings} (shared ${r.sharedMappings}), RSS ${(r.rssKiB / 1024).toFixed(1)} MiB`;
}
