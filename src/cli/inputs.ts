// Resolving command-line arguments to domain objects: profiles (embedded name or file)
// and hosts (capture file or the live /dev/kvm). `-` is stdin wherever a file is.
import { loadHostFile } from "../formats/host-file.ts";
import { captureLiveHost } from "../host/live.ts";
import { parseJsonText } from "../model/document.ts";
import type { HostCapture } from "../model/host.ts";
import { parseProfile, type Profile } from "../model/profile.ts";
import { inputName, readInputFile } from "./io.ts";
import { profileSource } from "./profile-input.ts";

export { loadProfileArg, profileSource } from "./profile-input.ts";

/** A host capture file (cpuprof or Firecracker format), or, without one, the live host. */
export function loadHostArg(file: string | undefined): HostCapture {
  if (file === undefined) return captureLiveHost();
  return loadHostFile(readInputFile(file), inputName(file));
}

/** A host capture or a profile, for commands that take either (diff). */
export function loadHostOrProfileArg(
  arg: string,
): { kind: "host"; host: HostCapture } | { kind: "profile"; profile: Profile } {
  const source = profileSource(arg);
  if (source.kind === "embedded") return { kind: "profile", profile: source.profile };
  const name = inputName(arg);
  const text = readInputFile(arg);
  const data = parseJsonText(text, name);
  if (data !== null && typeof data === "object" && (data as { format?: unknown }).format === "cpuprof-profile")
    return { kind: "profile", profile: parseProfile(data, name) };
  return { kind: "host", host: loadHostFile(text, name) };
}
