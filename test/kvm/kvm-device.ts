// Shared by tests that need the real /dev/kvm: the reason to skip, or null when it can be opened.
import { existsSync } from "node:fs";
import { Kvm } from "../../src/kvm/index.ts";

function probe(): string | null {
  if (!existsSync("/dev/kvm")) return "no /dev/kvm on this machine";
  try {
    Kvm.open().dispose();
    return null;
  } catch (e) {
    return `cannot open /dev/kvm: ${(e as Error).message}`;
  }
}

export const kvmSkipReason = probe();
if (kvmSkipReason) console.log(`skipping /dev/kvm tests: ${kvmSkipReason}`);
