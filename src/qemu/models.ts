// QEMU's named CPU models, per QEMU release, in the catalogue's feature names: the tables
// scripts/gen-qemu-models.ts makes from a real QEMU. `export qemu` chooses its base model here.
import { QEMU_7_2 } from "./models/qemu-7.2.ts";
import { QEMU_10_0 } from "./models/qemu-10.0.ts";
import type { Vendor } from "../model/vendor.ts";

export interface QemuModel {
  /** Versioned model name (Skylake-Server-v4): QEMU promises a versioned model never changes. */
  name: string;
  vendor: string;
  family: number;
  model: number;
  stepping: number;
  deprecated: boolean;
  /** Linux names of the features its `query-cpu-model-expansion` (TCG) turns on. */
  features: string[];
}

export interface QemuModelTable {
  /** major.minor */
  version: string;
  generatedFrom: string;
  /** Linux names of the features this QEMU has a property for. */
  properties: string[];
  /** Properties whose default differs under -accel kvm from TCG (QEMU's kvm_default_props and tcg_default_props). */
  kvmDefaults: { on: string[]; off: string[] };
  /** Unversioned name -> versioned model it resolves to (with -machine none / current machine types). */
  aliases: Record<string, string>;
  models: QemuModel[];
}

/**
 * Every table cpuprof carries, oldest QEMU first: Debian 12's QEMU 7.2 and Debian 13's 10.0 (also in
 * bookworm-backports). More come from running the generator against another QEMU.
 */
export const QEMU_MODEL_TABLES: readonly QemuModelTable[] = [QEMU_7_2, QEMU_10_0];

export function qemuVersions(): string[] {
  return QEMU_MODEL_TABLES.map((t) => t.version);
}

export function qemuModelTable(version: string): QemuModelTable | undefined {
  return QEMU_MODEL_TABLES.find((t) => t.version === version);
}

export const QEMU_VENDOR_STRING: Readonly<Record<Vendor, string>> = { intel: "GenuineIntel", amd: "AuthenticAMD" };

/** Resolve an unversioned model name the way this QEMU does. */
export function resolveQemuModel(table: QemuModelTable, name: string): QemuModel | undefined {
  const versioned = table.aliases[name] ?? name;
  return table.models.find((m) => m.name === versioned);
}
