// PROFILE arguments: an embedded profile by name, or a profile file. Apart from inputs.ts (host
// arguments), so that a command taking profiles and only the live host (verify) does not load the
// capture-file readers (Firecracker formats and their schemas).
import { InputError } from "../errors.ts";
import { pathExists } from "../kvm/posix.ts";
import { embeddedProfile, embeddedProfileNames } from "../embedded/profiles.ts";
import { parseJsonText, printable } from "../model/document.ts";
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
    if (pathExists(arg))
      writeStderr(
        `warning: '${printable(arg, 80)}' is the embedded profile; write './${printable(arg, 80)}' for the file of that name`,
      );
    return { kind: "embedded", profile: embedded };
  }
  if (arg !== "-" && !pathExists(arg))
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
