// The embedded `host` profile names a placeholder vendor (intel) because every profile names one; the rules
// that shape the guest's table (topology, nested bits) must be the host's, as for hostProfileOf(host).
import { describe, expect, test } from "bun:test";
import { embeddedProfile } from "../../src/embedded/profiles.ts";
import { applyProfile } from "../../src/profile/apply.ts";
import { hostProfileOf } from "../../src/profile/migration.ts";
import { allFixtureHosts } from "../helpers/fixtures.ts";

const hosts = allFixtureHosts();

describe("the embedded host profile follows the host's vendor", () => {
  test.skipIf(hosts.length === 0)(
    "on every fixture host (Intel and AMD), any topology and nesting: the same vCPU table as the host's own host profile",
    () => {
      const embedded = embeddedProfile("host")!;
      expect(embedded.vendor).toBe("intel"); // the placeholder this test is about
      const differing: string[] = [];
      for (const { label, host } of hosts)
        for (const nested of [false, true])
          for (const vcpuId of [0, 3]) {
            const options = { nested, vcpuId, vcpuCount: 4 };
            const got = applyProfile(embedded, host, options).cpuid;
            const want = applyProfile(hostProfileOf(host), host, options).cpuid;
            if (JSON.stringify(got) !== JSON.stringify(want))
              differing.push(`${label} nested=${nested} vcpu ${vcpuId}`);
          }
      expect(differing).toEqual([]);
    },
  );
});
