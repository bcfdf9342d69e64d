import { describe, expect, test } from "bun:test";
import { captureLiveHost } from "../../src/host/live.ts";
import { Kvm } from "../../src/kvm/index.ts";
import { parseHostCapture, serializeHost } from "../../src/model/host.ts";
import { kvmSkipReason } from "../kvm/kvm-device.ts";

const onDevice = kvmSkipReason ? test.skip : test;

describe("captureLiveHost", () => {
  onDevice("two captures serialize to the same bytes", () => {
    using kvm = Kvm.open();
    const a = serializeHost(captureLiveHost({ kvm }));
    const b = serializeHost(captureLiveHost());
    expect(b).toBe(a);
  });

  onDevice("the capture parses back to itself", () => {
    const host = captureLiveHost();
    const text = serializeHost(host);
    const parsed = parseHostCapture(JSON.parse(text), "live");
    expect(serializeHost(parsed)).toBe(text);
    expect(host.source).toBe("kvm");
    expect(host.kvm?.apiVersion).toBe(12);
    expect(host.featureMsrs.length).toBeGreaterThan(0);
    expect(host.cpuid.find((e) => e.function === 1)!.ebx >>> 24).toBe(0);
    expect(host.kernel).toBeTruthy();
  });

  onDevice("without system info: the same capture, with no kernel, microcode or BIOS read", () => {
    using kvm = Kvm.open();
    const full = captureLiveHost({ kvm });
    const lean = captureLiveHost({ kvm, systemInfo: false });
    expect(lean.kernel).toBeNull();
    expect(lean.microcode).toBeNull();
    expect("bios" in lean).toBe(false);
    const { bios: _bios, ...rest } = full;
    expect(serializeHost(lean)).toBe(serializeHost({ ...rest, kernel: null, microcode: null }));
  });
});
