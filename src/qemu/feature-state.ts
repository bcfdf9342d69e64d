// What a profile does with one named feature bit, without a host: fixes it to 0 or 1, or
// leaves it to the host the VM runs on. The exporters (QEMU, libvirt) start from this.
import type { Profile } from "../model/profile.ts";
import type { FeatureBit } from "./model-features.ts";

export type FeatureState = 0 | 1 | "host";

/** guest = (host & mask) | replacements; a register or feature MSR no adjustment matches is 0 (all host for a host profile). */
export function profileBitState(profile: Profile, where: FeatureBit): FeatureState {
  if (profile.kind === "host") return "host";
  if (where.kind === "cpuid") {
    const a = profile.cpuid.find(
      (x) => x.leaf === where.leaf && x.register === where.register && x.subleaf.start <= where.subleaf && where.subleaf <= x.subleaf.end,
    );
    if (!a) return 0;
    if (((a.mask >>> where.bit) & 1) === 1) return "host";
    return ((a.replacements >>> where.bit) & 1) === 1 ? 1 : 0;
  }
  const m = profile.msrs.find((x) => x.index >>> 0 === where.index >>> 0);
  if (!m) return 0;
  if (((m.mask >> BigInt(where.bit)) & 1n) === 1n) return "host";
  return ((m.replacements >> BigInt(where.bit)) & 1n) === 1n ? 1 : 0;
}
