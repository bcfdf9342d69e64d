// Node labels that say which profiles a host can run, in node-feature-discovery's local
// feature-file format (features.d: one `name=value` per line). A profile is labelled exactly
// when the compatibility matrix marks it ok on the host, so `labels` and `matrix` never disagree.
import type { HostCapture } from "../model/host.ts";
import type { Profile } from "../model/profile.ts";
import { compatibilityMatrix } from "./matrix.ts";

export const LABEL_PREFIX = "cpuprof.io";
/** Kubernetes limits the name part of a label key to 63 characters. */
const LABEL_NAME_MAX = 63;

export interface NodeLabels {
  labels: { name: string; value: string }[];
  /** Compatible profiles whose name is too long for a label name. */
  unlabellable: string[];
}

export function nodeLabels(host: HostCapture, profiles: readonly Profile[]): NodeLabels {
  const m = compatibilityMatrix(
    [{ label: "host", host }],
    profiles.map((profile) => ({ name: profile.name, profile })),
  );
  const labels: NodeLabels["labels"] = [{ name: `${LABEL_PREFIX}/vendor`, value: host.vendor }];
  const unlabellable: string[] = [];
  for (const c of m.cells) {
    if (!c.compatible) continue;
    const name = `profile.${c.profile}`;
    if (name.length > LABEL_NAME_MAX) unlabellable.push(c.profile);
    else labels.push({ name: `${LABEL_PREFIX}/${name}`, value: "true" });
  }
  return { labels, unlabellable };
}

export function formatFeatureFile(l: NodeLabels): string {
  return l.labels.map((x) => `${x.name}=${x.value}\n`).join("");
}
