// bun run soak [--count N] [--profile NAME]: N rounds (default 10,000) of captureLiveHost(),
// applyProfile() and verifyProfile(..., {guest: true}) on the live /dev/kvm in one process.
// Prints open fds, memory mappings (shared ones counted apart) and RSS before and after, and the
// time per round; exit 1 if fds or shared mappings grew, 3 without a usable /dev/kvm.
import { formatResources, kvmMissing, leaks, soak } from "../test/quality/soak-lib.ts";

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
}

const countArg = arg("--count") ?? "10000";
const count = Number(countArg);
if (!Number.isSafeInteger(count) || count < 1) {
  console.error(`soak: --count expects a positive integer, got '${countArg}'`);
  process.exit(2);
}
const missing = kvmMissing();
if (missing) {
  console.error(`soak: ${missing}`);
  process.exit(3);
}

const tty = Boolean(process.stderr.isTTY);
const step = Math.max(1, Math.floor(count / 20));
const result = soak({
  count,
  profile: arg("--profile"),
  onProgress: (done) => {
    if (tty && (done % step === 0 || done === count)) process.stderr.write(`\rsoak: ${done}/${count}`);
  },
});
if (tty) process.stderr.write("\n");

console.log(
  `soak: profile ${result.profile}, ${result.iterations} rounds (capture + apply + guest check), ${result.guestRuns} guest checks ran, ${result.guestErrors} stopped with an error`,
);
console.log(`soak: before  ${formatResources(result.before)}`);
console.log(`soak: after   ${formatResources(result.after)}`);
console.log(
  `soak: ${result.msPerIteration.toFixed(3)} ms per round, RSS ${result.after.rssKiB - result.before.rssKiB >= 0 ? "+" : ""}${((result.after.rssKiB - result.before.rssKiB) / 1024).toFixed(1)} MiB`,
);
const grew = leaks(result);
if (grew.length) {
  for (const g of grew) console.error(`soak: LEAK: ${g}`);
  process.exit(1);
}
console.log("soak: ok (fds and shared mappings unchanged)");
