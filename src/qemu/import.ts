// A QEMU CPU model (its query-cpu-model-expansion) as a cpuprof profile: every feature QEMU
// has a property for is fixed as the expansion says, everything else is left to the host.
import { profileFromFixedBits, signatureField } from "../formats/feature-profile.ts";
import type { Profile } from "../model/profile.ts";
import type { Vendor } from "../model/vendor.ts";
import { qemuNamedFeatures, qemuPropertyKnown } from "./model-features.ts";
import type { QemuModelTable } from "./models.ts";

const VENDORS: Readonly<Record<string, Vendor>> = { GenuineIntel: "intel", AuthenticAMD: "amd" };

/**
 * props: a full expansion taken under TCG. QEMU clears its KVM PV features under TCG, so the
 * properties whose -accel kvm default differs (table.kvmDefaults) take that default unless the
 * user's -cpu value set them: the profile is what a KVM guest of this model sees.
 */
export function profileFromQemuExpansion(
  props: Readonly<Record<string, unknown>>,
  opts: {
    cpu: string;
    explicit: ReadonlySet<string>;
    qemuVersion: string;
    kvmDefaults: QemuModelTable["kvmDefaults"];
    name: string;
  },
): Profile {
  const vendor = VENDORS[String(props.vendor)];
  if (!vendor)
    throw new Error(
      `QEMU model ${opts.cpu}: vendor '${String(props.vendor)}' is neither GenuineIntel nor AuthenticAMD`,
    );
  const on = new Set(opts.kvmDefaults.on);
  const off = new Set(opts.kvmDefaults.off);
  const fixed = [];
  for (const f of qemuNamedFeatures()) {
    if (!qemuPropertyKnown(props, f.qemu!)) continue;
    const spellings = [f.qemu!, f.qemu!.replaceAll("-", "_"), f.qemu!.replaceAll("_", "-")];
    let value = [
      f.qemu!,
      f.qemu!.replaceAll("-", "_"),
      f.qemu!.replaceAll("_", "-"),
      f.qemu!.replaceAll(".", "-"),
    ].some((n) => props[n] === true);
    if (!spellings.some((s) => opts.explicit.has(s))) value = on.has(f.linux) ? true : off.has(f.linux) ? false : value;
    fixed.push({ bit: f.bit, on: value });
  }
  // QEMU defines family/model/stepping too: fixed, so the guest's signature is the model's.
  const signature = signatureField(Number(props.family), Number(props.model), Number(props.stepping));
  return profileFromFixedBits(
    vendor,
    fixed,
    {
      name: opts.name,
      where: `QEMU ${opts.cpu}`,
      description:
        `QEMU ${opts.qemuVersion} CPU model ${opts.cpu} as -accel kvm expands it (query-cpu-model-expansion): every feature QEMU has a property for is fixed; ` +
        `so are family/model/stepping; fields QEMU does not define (topology, caches, XSAVE sizes, max leaves, features without a QEMU property) are left to the host.`,
    },
    [signature],
  );
}
