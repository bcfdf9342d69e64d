// Where a cold `cpuprof verify host` spends its time. The bench compiles this file with dist/cpuprof's
// own flags (scripts/build.ts) and runs it as a fresh process several times: every module group is
// imported on its own so its load time shows, then the steps verifyProfile takes, with the guest
// check by phase. Prints one JSON line: [phase, ms][] in order.
export {};

const marks: [string, number][] = [];
let last = performance.now();
marks.push(["runtime start (to the first line of this file)", last]);
const mark = (name: string) => {
  const now = performance.now();
  marks.push([name, now - last]);
  last = now;
};

const kvmLayer = await import("../src/kvm/index.ts");
mark("load: kvm (FFI, layouts)");
const live = await import("../src/host/live.ts");
mark("load: host/live (model, valibot)");
const embedded = await import("../src/embedded/profiles.ts");
mark("load: embedded profiles");
const apply = await import("../src/profile/apply.ts");
mark("load: profile/apply (catalogue, policy, compat)");
const filter = await import("../src/profile/filter.ts");
const plan = await import("../src/verify/plan.ts");
const guest = await import("../src/guest/index.ts");
const classify = await import("../src/verify/classify.ts");
mark("load: verify/plan, guest, verify/classify");

const profile = embedded.embeddedProfile("host")!;
mark("embedded profile 'host' (parsed at bundle time: JSON.parse)");
using kvm = kvmLayer.Kvm.open();
const host = live.captureLiveHost({ kvm, systemInfo: false }); // as the CLI's verify does
mark("live capture");
const config = apply.applyProfile(profile, host, { checkGuestMsrs: false });
mark("applyProfile");
const queries = plan.planProbe(config, host, filter.knownMsrsOf(host));
mark("planProbe");
const report = guest.runGuestProbe({ cpuid: config.cpuid, msrs: config.msrs, filter: config.msrFilter }, queries, {
  kvm,
  closeInBackground: false, // as the CLI's verify does
  onPhase: (phase) => mark(`guest check: ${phase}`),
});
mark("guest check: teardown (VM and vCPU fds closed)");
classify.classify(config, host, report);
mark("classify");
console.log(JSON.stringify(marks));
