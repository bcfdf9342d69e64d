// Every command, in the order --help lists them. Modules load only when their command
// runs (or shows its help), so starting the executable evaluates just what one command needs.
import type { Command } from "../command.ts";

export interface CommandEntry {
  name: string;
  summary: string;
  load: () => Promise<Command>;
}

export const commands: CommandEntry[] = [
  {
    name: "host",
    summary: "capture what this host's KVM offers (or import a capture)",
    load: async () => (await import("./host.ts")).hostCommand,
  },
  {
    name: "generate",
    summary: "make a profile from a host capture (or this host)",
    load: async () => (await import("./generate.ts")).generateCommand,
  },
  {
    name: "apply",
    summary: "profile + host -> vCPU CPUID, MSR values, MSR filter, report",
    load: async () => (await import("./apply.ts")).applyCommand,
  },
  {
    name: "verify",
    summary: "check profiles on this host and inside a real KVM guest",
    load: async () => (await import("./verify.ts")).verifyCommand,
  },
  {
    name: "baseline",
    summary: "the most capable profile every given host can run",
    load: async () => (await import("./baseline.ts")).baselineCommand,
  },
  {
    name: "diff",
    summary: "differences between profiles and/or host captures, in feature names",
    load: async () => (await import("./diff.ts")).diffCommand,
  },
  {
    name: "matrix",
    summary: "hosts x profiles compatibility and migration groups",
    load: async () => (await import("./matrix.ts")).matrixCommand,
  },
  {
    name: "check-migration",
    summary: "can a guest started on one host move to another",
    load: async () => (await import("./check-migration.ts")).checkMigrationCommand,
  },
  { name: "list", summary: "list the embedded profiles", load: async () => (await import("./list.ts")).listCommand },
  {
    name: "show",
    summary: "show one profile in feature names",
    load: async () => (await import("./show.ts")).showCommand,
  },
  {
    name: "import",
    summary: "read Cloud Hypervisor, Firecracker, QEMU or libvirt CPUs as a profile",
    load: async () => (await import("./import.ts")).importCommand,
  },
  {
    name: "export",
    summary: "write a profile for Cloud Hypervisor, Firecracker, QEMU, libvirt or KubeVirt",
    load: async () => (await import("./export.ts")).exportCommand,
  },
  {
    name: "labels",
    summary: "node labels (NFD features.d) naming the profiles this host can run",
    load: async () => (await import("./labels.ts")).labelsCommand,
  },
  {
    name: "schema",
    summary: "JSON Schema of the profile or host-capture format",
    load: async () => (await import("./schema.ts")).schemaCommand,
  },
];
