// Resolving command-line arguments to domain objects: profiles (embedded name or file)
// and hosts (capture file or the live /dev/kvm). `-` is stdin wherever a file is.
import { existsSync } from "node:fs";
import { InputError } from "../errors.ts";
import { embeddedProfile, embeddedProfileNames } from "../embedded/profiles.ts";
import { loadHostFile } from "../formats/host-file.ts";
import { captureLiveHost } from "../host/live.ts";
import { parseJsonText, printable } from "../model/document.ts";
import type { HostCapture } from "../model/host.ts";
import { parseProfile, type Profile } from "../model/profile.ts";
import { inputName, readInputFile } from "./io.ts";

/** An embedded profile by name, or a profile JSON file. */
export function loadProfileArg(arg: string): Profile {
  const embedded = embeddedProfile(arg);
  if (embedded) return embedded;
  if (arg !== "-" && !existsSync(arg))
    throw new InputError(
      `unknown profile '${printable(arg, 80)}': not an embedded profile (${embeddedProfileNames().join(", ")}) and no such file`,
    );
  return parseProfile(parseJsonText(readInputFile(arg), inputName(arg)), inputName(arg));
}

/** A host capture file (cpuprof or Firecracker format), or, without one, the live host. */
export function loadHostArg(file: string | undefined): HostCapture {
  if (file === undefined) return captureLiveHost();
  return loadHostFile(readInputFile(file), inputName(file));
}

/** A host capture or a profile, for commands that take either (diff). */
export function loadHostOrProfileArg(arg: string): { kind: "host"; host: HostCapture } | { kind: "profile"; profile: Profile } {
  if (embeddedProfile(arg)) return { kind: "profile", profile: embeddedProfile(arg)! };
  if (arg !== "-" && !existsSync(arg)) throw new InputError(`'${printable(arg, 80)}': not an embedded profile and no such file`);
  const name = inputName(arg);
  const text = readInputFile(arg);
  const data = parseJsonText(text, name);
  if (data !== null && typeof data === "object" && (data as { format?: unknown }).format === "cpuprof-profile")
    return { kind: "profile", profile: parseProfile(data, name) };
  return { kind: "host", host: loadHostFile(text, name) };
}
