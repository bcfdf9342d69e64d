// A tiny VMM on cpuprof's public API: start a guest under a CPU profile, let it read CPUID and a few MSRs,
// save its MSRs, "migrate" it to a second VM (the destination) and show that the guest sees the same there.
//
//   bun examples/profiled-guest.ts [PROFILE] [--report-refused] [--save FILE]
//
// PROFILE is an embedded profile (default: host). --save FILE writes the saved MSRs (the JSON that
// `cpuprof check-migration --saved FILE` checks against a destination). --report-refused prints refused crucial MSRs instead of
// stopping; a real VMM stops (this machine's kvm_pvm, for one, refuses IA32_ARCH_CAPABILITIES).
// In your own project, import from "cpuprof" instead of "../src/index.ts".
import {
  CrucialMsrRefusedError,
  GuestMemory,
  Kvm,
  applyProfile,
  captureLiveHost,
  configureVcpu,
  configureVm,
  embeddedProfile,
  msrName,
  restoreMsrs,
  saveMsrs,
  serializeSavedMsrs,
  type Vcpu,
  type VcpuConfig,
} from "../src/index.ts";

const args = process.argv.slice(2);
const profileName = args.find((a, i) => !a.startsWith("--") && args[i - 1] !== "--save") ?? "host";
const reportRefused = args.includes("--report-refused");
const saveFile = args.includes("--save") ? args[args.indexOf("--save") + 1] : undefined;

// The guest: three real-mode snippets the VMM points RIP at, each ending in HLT (an exit to us),
// and a #GP handler (IVT vector 13) that halts elsewhere, so a refused RDMSR shows up as a fault.
const CODE = 0x1000,
  CPUID_AT = CODE,
  RDMSR_AT = CODE + 3,
  WRMSR_AT = CODE + 6,
  FAULT_AT = CODE + 0x100;
const GUEST_CODE = [
  0x0f, 0xa2, 0xf4, /* cpuid; hlt */ 0x0f, 0x32, 0xf4, /* rdmsr; hlt */ 0x0f, 0x30, 0xf4 /* wrmsr; hlt */,
];

/** A VM with one vCPU configured from the profile: filter on the VM, then CPUID and feature MSRs on the vCPU. */
function startGuest(kvm: Kvm, config: VcpuConfig) {
  const memory = GuestMemory.allocate(0x10000);
  memory.bytes.set(GUEST_CODE, CODE);
  memory.bytes[FAULT_AT] = 0xf4;
  memory.view.setUint16(13 * 4, FAULT_AT, true); // IVT[13] = 0000:FAULT_AT
  const vm = kvm.createVm();
  vm.setUserMemoryRegion({ slot: 0, guestPhysAddr: 0n, memory });
  vm.setTssAddr(0xfffbd000); // Intel without unrestricted guest needs it for real mode; harmless elsewhere
  configureVm(vm, config);
  const vcpu = vm.createVcpu(0);
  try {
    configureVcpu(vcpu, config, { crucial: reportRefused ? "report" : "throw" }).refused.forEach((r) =>
      console.log(
        `  note: KVM refused ${r.name} = 0x${r.value.toString(16)}${r.crucial ? " (crucial: a real VMM stops here)" : ""}`,
      ),
    );
  } catch (e) {
    vm.dispose();
    memory.dispose();
    throw e;
  }
  const sregs = vcpu.getSregs(); // reset state is real mode; run our code from segment 0
  vcpu.setSregs({ ...sregs, cs: { ...sregs.cs, base: 0n, selector: 0 } });
  return { vcpu, [Symbol.dispose]: () => (vm.dispose(), memory.dispose()) };
}

/** Runs one snippet with the given registers; returns the registers at its HLT, or null if the guest faulted. */
function guestRun(vcpu: Vcpu, rip: number, regs: { rax?: bigint; rcx?: bigint; rdx?: bigint }) {
  vcpu.setRegs({
    ...vcpu.getRegs(),
    rax: 0n,
    rbx: 0n,
    rcx: 0n,
    rdx: 0n,
    ...regs,
    rip: BigInt(rip),
    rsp: 0x8000n,
    rflags: 2n,
  });
  const exit = vcpu.run();
  if (exit.reason !== "HLT") throw new Error(`guest stopped with ${exit.reason}`);
  const after = vcpu.getRegs();
  return after.rip === BigInt(FAULT_AT + 1) ? null : after;
}

const hex = (v: bigint | number) => `0x${v.toString(16)}`;
const LEAVES = [
  [0x0, 0],
  [0x1, 0],
  [0x7, 0],
  [0x80000001, 0],
] as const;
const IA32_STAR = 0xc0000081,
  IA32_SYSENTER_CS = 0x174,
  IA32_PAT = 0x277;

/** What the guest sees: a few CPUID leaves and MSRs, as lines of text. */
function guestView(vcpu: Vcpu, msrs: readonly number[]): string[] {
  const lines = LEAVES.map(([leaf, sub]) => {
    const r = guestRun(vcpu, CPUID_AT, { rax: BigInt(leaf), rcx: BigInt(sub) })!;
    return `CPUID ${hex(leaf)}.${sub}: eax=${hex(r.rax)} ebx=${hex(r.rbx)} ecx=${hex(r.rcx)} edx=${hex(r.rdx)}`;
  });
  for (const msr of msrs) {
    const r = guestRun(vcpu, RDMSR_AT, { rcx: BigInt(msr) });
    lines.push(`RDMSR ${msrName(msr)}: ${r ? hex((r.rdx << 32n) | (r.rax & 0xffffffffn)) : "#GP"}`);
  }
  return lines;
}

const profile = embeddedProfile(profileName);
if (!profile) throw new Error(`no embedded profile ${profileName}`);
const host = captureLiveHost(); // on a real destination, that host's own capture
const config = applyProfile(profile, host);
if (!config.report.compatible) {
  console.log(`${profile.name} cannot run on this host: ${config.report.problems.map((p) => p.name).join(" ")}`);
  process.exit(1);
}
// Only MSRs the profile lets the guest touch (and that this host saves), so none of them faults.
const shown = [IA32_STAR, IA32_SYSENTER_CS, IA32_PAT].filter((m) => config.msrsToSave.includes(m));

using kvm = Kvm.open();
let seenOnSource: string[];
let saved: ReturnType<typeof saveMsrs>;
try {
  console.log(
    `source VM: profile ${profile.name}, ${config.cpuid.length} CPUID entries, ${config.msrFilter?.ranges.length ?? 0} MSR filter ranges`,
  );
  using source = startGuest(kvm, config);
  // The guest changes some state, which has to survive the move.
  guestRun(source.vcpu, WRMSR_AT, { rcx: BigInt(IA32_STAR), rdx: 0x00230010n, rax: 0n });
  guestRun(source.vcpu, WRMSR_AT, { rcx: BigInt(IA32_SYSENTER_CS), rdx: 0n, rax: 0x10n });
  seenOnSource = guestView(source.vcpu, shown);
  saved = saveMsrs(source.vcpu, config);
  console.log(`saved ${saved.msrs.length} MSRs (the profile's msrsToSave)`);
  if (saveFile) await Bun.write(saveFile, serializeSavedMsrs(saved));

  console.log("destination VM: same profile, then the saved MSRs restored");
  using destination = startGuest(kvm, config);
  const restored = restoreMsrs(destination.vcpu, config, saved);
  console.log(`restored ${restored.restored} MSRs`);
  const seenOnDestination = guestView(destination.vcpu, shown);

  console.log("\nwhat the guest saw (source | destination):");
  seenOnSource.forEach((line, i) =>
    console.log(`  ${line}${line === seenOnDestination[i] ? "  | same" : `  | ${seenOnDestination[i]}`}`),
  );
  const same = seenOnSource.every((line, i) => line === seenOnDestination[i]);
  console.log(same ? "the guest sees the same CPU on both VMs" : "the guest sees a DIFFERENT CPU after the move");
  process.exitCode = same ? 0 : 1;
} catch (e) {
  if (!(e instanceof CrucialMsrRefusedError)) throw e;
  console.log(`stopped: ${e.message}`);
  process.exitCode = 1;
}
