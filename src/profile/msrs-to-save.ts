// The MSRs a VMM saves and restores for a guest (snapshot, live migration): the ones this host's KVM
// saves (KVM_GET_MSR_INDEX_LIST) that the profile lets the guest touch. An MSR the profile does not
// permit is denied by the filter, so the guest can never have changed it: saving it would only carry
// the source host's state into the destination.

/**
 * host's KVM_GET_MSR_INDEX_LIST ∩ permitted (`"all"` for the host profile, which permits everything
 * the host knows). Sorted ascending, unique, so the same inputs give the same list.
 */
export function msrsToSave(msrIndexList: readonly number[], permitted: readonly number[] | "all"): number[] {
  const allowed = permitted === "all" ? null : new Set(permitted.map((m) => m >>> 0));
  const out = new Set<number>();
  for (const m of msrIndexList) if (!allowed || allowed.has(m >>> 0)) out.add(m >>> 0);
  return [...out].sort((a, b) => a - b);
}
