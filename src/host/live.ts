// Live host capture: what this machine's /dev/kvm offers, as a HostCapture.
import { EnvironmentError } from "../errors.ts";
import { KVM_CAP, Kvm } from "../kvm/index.ts";
// /proc and /sys through libc rather than node:fs, which verify's path does not otherwise link (posix.ts).
import { readKernelText } from "../kvm/posix.ts";
import { CAPABILITY_NAMES, normaliseHost, type CapabilityName, type HostCapture } from "../model/host.ts";
import { cpuIdentityOf } from "../model/vendor.ts";
import { biosOf } from "../model/host.ts";
import { clearPerCpuFields, microcodeFromCpuinfo } from "./normalise.ts";

/** Capabilities without which a capture would be incomplete (feature-MSR values need GET_MSR_FEATURES). */
export const CAPTURE_REQUIRES: readonly CapabilityName[] = ["GET_MSR_FEATURES"];

export const PROC_OSRELEASE = "/proc/sys/kernel/osrelease";
export const PROC_CPUINFO = "/proc/cpuinfo";

export interface CaptureOptions {
  /** An open /dev/kvm to capture through (default: opened and closed here). */
  kvm?: Kvm;
  /**
   * Whether to read the kernel release, microcode revision and BIOS from /proc and /sys (default true).
   * `verify` passes false: it uses only what KVM reports, and the four reads cost about 0.3 ms of a cold
   * run. Without them the capture's kernel and microcode are null and it has no bios.
   */
  systemInfo?: boolean;
}

export function captureLiveHost(options: CaptureOptions = {}): HostCapture {
  const owned = options.kvm ? undefined : Kvm.open();
  try {
    return capture(options.kvm ?? owned!, options.systemInfo !== false);
  } finally {
    owned?.dispose();
  }
}

function capture(kvm: Kvm, systemInfo: boolean): HostCapture {
  // A loop, not Object.fromEntries: nothing else on verify's path calls it, and a builtin's first call is ~0.1 ms cold.
  const capabilities = {} as Record<CapabilityName, number>;
  for (const name of CAPABILITY_NAMES) capabilities[name] = kvm.checkExtension(KVM_CAP[name]);
  for (const name of CAPTURE_REQUIRES) {
    if (capabilities[name] === 0)
      throw new EnvironmentError(`KVM on this host lacks KVM_CAP_${name} (${KVM_CAP[name]}), needed to capture it`);
  }
  const cpuid = clearPerCpuFields(kvm.supportedCpuid());
  const id = cpuIdentityOf(cpuid);
  const vendor = id.vendor,
    vendorString = id.vendorString ?? "";
  if (!vendor)
    throw new EnvironmentError(
      `unsupported CPU vendor ${JSON.stringify(vendorString)} (cpuprof handles Intel and AMD)`,
    );
  const sig = id.signature ?? { family: 0, model: 0, stepping: 0 };
  // Only indices from the feature list: any save/restore MSR would also "succeed" with 0 on the system fd.
  const featureIndices = kvm.msrFeatureIndexList();
  const featureMsrs = kvm.getFeatureMsrs(featureIndices);
  const cpuinfo = systemInfo ? readKernelText(PROC_CPUINFO) : null;
  return normaliseHost({
    source: "kvm",
    vendor,
    vendorString,
    family: sig.family,
    model: sig.model,
    stepping: sig.stepping,
    brand: id.brand ?? null,
    kernel: systemInfo ? readKernelText(PROC_OSRELEASE)?.trim() || null : null,
    microcode: cpuinfo === null ? null : microcodeFromCpuinfo(cpuinfo),
    ...(systemInfo
      ? {
          bios: biosOf(
            readKernelText("/sys/class/dmi/id/bios_version") ?? undefined,
            readKernelText("/sys/class/dmi/id/bios_release") ?? undefined,
          ),
        }
      : {}),
    kvm: { apiVersion: kvm.apiVersion(), capabilities },
    cpuid,
    featureMsrs,
    msrIndexList: kvm.msrIndexList(),
  });
}
