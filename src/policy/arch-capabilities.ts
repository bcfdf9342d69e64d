// The ARCH_CAPABILITIES constants the policy rows and apply-time rules share, apart from the
// tables themselves so that code needing them does not build the tables (policy/macro.ts).

/** IA32_ARCH_CAPABILITIES: KVM emulates it on both vendors (with synthesised *_NO bits). */
export const ARCH_CAPABILITIES = 0x10a;
/** The bits Cloud Hypervisor's FB_CLEAR exception requires on the host: MDS_NO, TAA_NO, SBDR_SSDP_NO, FBSDP_NO, PSDP_NO. */
export const FB_CLEAR_BIT = 17;
export const FB_CLEAR_EXCEPTION_HOST_BITS: readonly number[] = [5, 8, 13, 14, 15];
