// The guest check: what a guest really sees under a vCPU configuration.
export { runGuestProbe, type ProbeOptions, type ProbePhase } from "./probe.ts";
export { MAX_CPUID_QUERIES, MAX_MSR_QUERIES } from "./layout.ts";
export type * from "./types.ts";
