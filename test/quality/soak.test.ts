// A short soak on the live /dev/kvm: 200 rounds of capture, apply and the real guest check leave
// the process's open fds and shared mappings as they were (`bun run soak` does 10,000).
import { describe, expect, test } from "bun:test";
import { Kvm } from "../../src/kvm/index.ts";
import { kvmMissing, leaks, resources, soak } from "./soak-lib.ts";

const missing = kvmMissing();
if (missing) console.log(`soak tests skipped: ${missing}`);

describe.skipIf(missing !== undefined)("soak on /dev/kvm", () => {
  test("the measure sees a vCPU's fds and shared kvm_run mapping (so a leak would show)", () => {
    const before = resources();
    const kvm = Kvm.open();
    const vm = kvm.createVm();
    vm.createVcpu(0);
    const during = resources();
    expect(during.fds).toBe(before.fds + 3);
    expect(during.sharedMappings).toBe(before.sharedMappings + 1);
    vm.dispose();
    kvm.dispose();
    const after = resources();
    expect([after.fds, after.sharedMappings]).toEqual([before.fds, before.sharedMappings]);
  });

  test("200 rounds of capture + apply + guest check: fds and shared mappings unchanged", () => {
    const r = soak({ count: 200, warmup: 10 });
    expect(r.guestRuns).toBe(200);
    expect(leaks(r)).toEqual([]);
    expect(r.after.fds).toBe(r.before.fds);
    expect(r.after.sharedMappings).toBe(r.before.sharedMappings);
    // RSS is informational; a runaway (e.g. guest memory never unmapped) would be hundreds of MiB
    expect(r.after.rssKiB - r.before.rssKiB).toBeLessThan(64 * 1024);
  }, 30_000);
});
