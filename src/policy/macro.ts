// Runs at bundle time (imported `with { type: "macro" }`): builds a vendor's policy table from
// its row builders and returns it as JSON, so the executable parses one string instead of
// running the builders (and the catalogue lookups they use) at every start.
import { AMD_POLICY } from "./amd.ts";
import { INTEL_POLICY } from "./intel.ts";

export function policyTableJson(vendor: "intel" | "amd"): string {
  return JSON.stringify(vendor === "intel" ? INTEL_POLICY : AMD_POLICY);
}
