// What a profile does with one named feature bit, without a host: fixes it to 0 or 1, or
// leaves it to the host the VM runs on. The exporters (QEMU, libvirt) start from this.
import { bitSet } from "../fields/bits.ts";
import { featureView } from "../fields/view.ts";
import type { Profile } from "../model/profile.ts";
import type { FeatureBit } from "./model-features.ts";

export type FeatureState = 0 | 1 | "host";

/** guest = (host & mask) | replacements; a register or feature MSR no adjustment matches is 0 (all host for a host profile). */
export function profileBitState(profile: Profile, where: FeatureBit): FeatureState {
  if (profile.kind === "host") return "host";
  const view = featureView(profile);
  const slot =
    where.kind === "cpuid"
      ? view.register(where.leaf, where.subleaf, where.register)
      : view.msrs.get(where.index >>> 0);
  if (!slot) return 0;
  if (bitSet(slot.hostBits, where.bit)) return "host";
  return bitSet(slot.fixed, where.bit) ? 1 : 0;
}
