// Reading a host capture from a file, whichever of the accepted formats it is in.
import { InputError } from "../errors.ts";
import { parseJsonText, printable } from "../model/document.ts";
import { HOST_FORMAT, parseHostCapture, type HostCapture } from "../model/host.ts";
import { importFirecrackerDump, importFirecrackerFingerprint } from "./firecracker.ts";

export const ACCEPTED_HOST_FORMATS = `a cpuprof host capture ("format": "${HOST_FORMAT}"), a Firecracker cpu-template-helper fingerprint ("guest_cpu_config") or a Firecracker template dump ("cpuid_modifiers" with full 0/1 bitmaps)`;

export type HostFileKind = "cpuprof-host" | "firecracker-fingerprint" | "firecracker-dump";

/** Which format a parsed document claims to be, by its distinguishing top-level key. */
export function detectHostFile(data: unknown): HostFileKind | undefined {
  if (typeof data !== "object" || data === null || Array.isArray(data)) return undefined;
  if ("format" in data) return "cpuprof-host";
  if ("guest_cpu_config" in data) return "firecracker-fingerprint";
  if ("cpuid_modifiers" in data) return "firecracker-dump";
  return undefined;
}

/** True for a Firecracker template (some bitmap bit is 'x', or not every register is given in full). */
export function isFirecrackerTemplate(data: unknown): boolean {
  const modifiers = (data as { cpuid_modifiers?: unknown }).cpuid_modifiers;
  if (!Array.isArray(modifiers)) return false;
  return modifiers.some(
    (leaf) =>
      ((leaf as { modifiers?: unknown })?.modifiers as { bitmap?: unknown }[] | undefined)?.some?.(
        (m) => typeof m?.bitmap === "string" && /x/i.test(m.bitmap),
      ) ?? false,
  );
}

export function loadHostFile(text: string, file: string): HostCapture {
  const data = parseJsonText(text, file);
  switch (detectHostFile(data)) {
    case "cpuprof-host":
      return parseHostCapture(data, file);
    case "firecracker-fingerprint":
      return importFirecrackerFingerprint(data, file);
    case "firecracker-dump":
      // A custom CPU template has the same keys, but its bitmaps leave bits to the host ('x'): it is a profile.
      if (isFirecrackerTemplate(data))
        throw new InputError(
          `${printable(file, 200)}: not a host capture but a Firecracker custom CPU template: read it as a profile with 'cpuprof import firecracker ${printable(file, 200)} --name NAME --vendor intel|amd'`,
        );
      return importFirecrackerDump(data, file);
    case undefined:
      throw new InputError(`${printable(file, 200)}: not a host capture: expected ${ACCEPTED_HOST_FORMATS}`);
  }
}
