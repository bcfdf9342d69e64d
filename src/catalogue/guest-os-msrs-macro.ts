// Runs at bundle time (imported `with { type: "macro" }`): the guest-OS table compiled for each vendor
// (guest-os-msrs-compiled.ts), with feature positions from the catalogue's table modules, as JSON.
import type { Vendor } from "../model/vendor.ts";
import { compileGuestOsMsrs, type CompiledGuestOsMsrs } from "./guest-os-msrs-compiled.ts";
import { sourceCatalogue } from "./source.ts";

export function compiledGuestOsMsrsJson(): string {
  const out: Record<Vendor, CompiledGuestOsMsrs> = {
    intel: compileGuestOsMsrs("intel", sourceCatalogue.cpuidFeatureBit),
    amd: compileGuestOsMsrs("amd", sourceCatalogue.cpuidFeatureBit),
  };
  return JSON.stringify(out);
}
