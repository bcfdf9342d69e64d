// Reading a host capture from a file, whichever of the accepted formats it is in.
import { InputError } from "../errors.ts";
import { parseJsonText, printable } from "../model/document.ts";
import { HOST_FORMAT, parseHostCapture, type HostCapture } from "../model/host.ts";
import { importFirecrackerDump, importFirecrackerFingerprint } from "./firecracker.ts";

export const ACCEPTED_HOST_FORMATS =
  `a cpuprof host capture ("format": "${HOST_FORMAT}"), a Firecracker cpu-template-helper fingerprint ("guest_cpu_config") or a Firecracker template dump ("cpuid_modifiers" with full 0/1 bitmaps)`;

export type HostFileKind = "cpuprof-host" | "firecracker-fingerprint" | "firecracker-dump";

/** Which format a parsed document claims to be, by its distinguishing top-level key. */
export function detectHostFile(data: unknown): HostFileKind | undefined {
  if (typeof data !== "object" || data === null || Array.isArray(data)) return undefined;
  if ("format" in data) return "cpuprof-host";
  if ("guest_cpu_config" in data) return "firecracker-fingerprint";
  if ("cpuid_modifiers" in data) return "firecracker-dump";
  return undefined;
}

export function loadHostFile(text: string, file: string): HostCapture {
  const data = parseJsonText(text, file);
  switch (detectHostFile(data)) {
    case "cpuprof-host":
      return parseHostCapture(data, file);
    case "firecracker-fingerprint":
      return importFirecrackerFingerprint(data, file);
    case "firecracker-dump":
      return importFirecrackerDump(data, file);
    case undefined:
      throw new InputError(`${printable(file, 200)}: not a host capture: expected ${ACCEPTED_HOST_FORMATS}`);
  }
}
