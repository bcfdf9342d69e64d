// For the memory tests: runs the CLI as the executable does (runCli), then, on the way out, prints
// this process's peak resident set (VmHWM, which exec resets) to stderr as "VmHWM: N kB".
import { readFileSync, writeSync } from "node:fs";
import { runCli } from "../../src/cli/main.ts";

process.on("exit", () => {
  const hwm = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
  writeSync(2, `VmHWM: ${hwm} kB\n`);
});
void runCli(process.argv.slice(2));
