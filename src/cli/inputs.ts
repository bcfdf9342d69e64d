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
import { inputName, readInputFile, writeStderr } from "./io.ts";

/**
 * The rule for PROFILE arguments, in one place: a path (it has a '/', e.g. ./skylake, or is '-')
 * is always a file; a bare name is an embedded profile when there is one of that name, else a
 * file. A bare name that is both warns and takes the embedded profile, never silently.
 */
export function profileSource(arg: string): { kind: "embedded"; profile: Profile } | { kind: "file"; path: string } {
  const isPath = arg === "-" || arg.includes("/");
  const embedded = isPath ? undefined : embeddedProfile(arg);
  if (embedded) {
    if (existsSync(arg))
      writeStderr(
        `warning: '${printable(arg, 80)}' is the embedded profile; write './${printable(arg, 80)}' for the file of that name`,
      );
    return { kind: "embedded", profile: embedded };
  }
  if (arg !== "-" && !existsSync(arg))
    throw new InputError(
      isPath
        ? `${printable(arg, 200)}: no such file`
        : `unknown profile '${printable(arg, 80)}': not an embedded profile (${embeddedProfileNames().join(", ")}) and no such file`,
    );
  return { kind: "file", path: arg };
}

/** An embedded profile by name, or a profile JSON file (see profileSource for which). */
export function loadProfileArg(arg: string): Profile {
  const source = profileSource(arg);
  if (source.kind === "embedded") return source.profile;
  return parseProfile(parseJsonText(readInputFile(arg), inputName(arg)), inputName(arg));
}

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
