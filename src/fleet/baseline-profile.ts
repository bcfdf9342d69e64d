// The profile of a fleet: generateProfile over the baseline capture, naming every input host.
import { hex32 } from "../model/hex.ts";
import type { HostCapture } from "../model/host.ts";
import type { Profile, SourceHost } from "../model/profile.ts";
import { generateProfile, type UnknownItem } from "../profile/generate.ts";
import { baselineHost, type BaselineOptions } from "./baseline.ts";

/** The same spelling generateProfile uses for its one source host. */
function sourceHostOf(h: HostCapture): SourceHost {
  const signature = `family ${hex32(h.family)} model ${hex32(h.model)} stepping ${hex32(h.stepping)}`;
  return {
    model: h.brand ? `${h.brand} (${signature})` : `${h.vendorString} ${signature}`,
    microcode: h.microcode,
    kernel: h.kernel,
  };
}

function compareSourceHosts(a: SourceHost, b: SourceHost): number {
  const x = [a.model, a.microcode ?? "", a.kernel ?? ""],
    y = [b.model, b.microcode ?? "", b.kernel ?? ""];
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1;
  return 0;
}

/** Profile descriptions are at most 1024 characters (the schema); past that, models are counted, not listed. */
const DESCRIPTION_BUDGET = 1000;

function describeFleet(hostCount: number, models: readonly string[]): string {
  const head = `Baseline of ${hostCount} host${hostCount === 1 ? "" : "s"}`;
  const listed = `${head}: ${models.join("; ")}`;
  return listed.length <= DESCRIPTION_BUDGET ? listed : `${head} (${models.length} models)`;
}

export interface BaselineProfileOptions extends BaselineOptions {
  name: string;
  description?: string;
  strict?: boolean;
}

export interface BaselineProfileResult {
  profile: Profile;
  /** The meet the profile was generated from. */
  host: HostCapture;
  /** What the policy does not know (generateProfile's report over the baseline). */
  unknown: UnknownItem[];
}

/** generateProfile over baselineHost, with sourceHosts naming every input host in a fixed order. */
export function baselineProfile(hosts: readonly HostCapture[], options: BaselineProfileOptions): BaselineProfileResult {
  const host = baselineHost(hosts, options);
  // Each distinct source host once, with how many of the inputs it was: 3,000 captures of one host are one line.
  const byKey = new Map<string, SourceHost>();
  hosts.forEach((h) => {
    const s = sourceHostOf(h);
    const key = JSON.stringify([s.model, s.microcode, s.kernel]);
    const n = (byKey.get(key)?.count ?? (byKey.has(key) ? 1 : 0)) + 1;
    byKey.set(key, n > 1 ? { ...s, count: n } : s);
  });
  const sourceHosts = [...byKey.values()].sort(compareSourceHosts);
  const distinct = [...new Set(sourceHosts.map((s) => s.model))];
  const description = options.description ?? describeFleet(hosts.length, distinct);
  const generated = generateProfile(host, {
    name: options.name,
    description,
    ...(options.strict === undefined ? {} : { strict: options.strict }),
  });
  return { profile: { ...generated.profile, sourceHosts }, host, unknown: generated.unknown };
}
