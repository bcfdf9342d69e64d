#!/usr/bin/env bun
// Entry point: dispatch to a command, turn every user-caused error into one line on
// stderr and its documented exit code. Set CPUPROF_DEBUG=1 to see stacks.
import { CpuprofError, EXIT } from "../errors.ts";
import { printable } from "../model/printable.ts";
import { TOOL_VERSION } from "../version.ts";
import { EXIT_CODES_HELP, type Command } from "./command.ts";
import { commands } from "./commands/index.ts";

// io.ts and args.ts (and with them node:fs and node:util, ~1.2 ms each to link) load only when a
// path below uses them: --version needs neither.
const io = () => import("./io.ts");
const args = () => import("./args.ts");

/** Exit code for a bug in cpuprof itself (not a user error): EX_SOFTWARE. */
export const EXIT_INTERNAL = 70;

export function globalHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const list = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join("\n");
  return `cpuprof ${TOOL_VERSION}: x86_64 CPU profiles for KVM

Usage: cpuprof COMMAND [options]
       cpuprof                 in a terminal: an interactive wizard

Commands:
${list}

Options:
  -h, --help     this help; 'cpuprof COMMAND --help' for a command
  -V, --version  print the version

${EXIT_CODES_HELP}
`;
}

/**
 * Set when output went through the runtime's own streams (console, the wizard's prompts), which may still
 * hold it: then the process exits through the runtime, which flushes them. Everything else cpuprof prints
 * goes through io.ts, whose writes have reached the kernel when they return.
 */
let runtimeStreamsUsed = false;

export async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === "--version" || first === "-V" || first === "version") {
    // The one line written without io.ts: the runtime's console is already there, libc is not bound yet.
    runtimeStreamsUsed = true;
    console.log(`cpuprof ${TOOL_VERSION}`);
    return EXIT.ok;
  }
  const { beginInputs, settleOutputs, writeStderr, writeStdout } = await io();
  beginInputs();
  if (first === undefined) {
    if (process.stdin.isTTY && process.stdout.isTTY) {
      const { runWizard } = await import("./wizard.ts");
      runtimeStreamsUsed = true;
      return runWizard();
    }
    writeStderr(globalHelp());
    return EXIT.badInput;
  }
  if (first === "--help" || first === "-h" || first === "help") {
    const target = rest[0] ? commands.find((c) => c.name === rest[0]) : undefined;
    if (rest[0] !== undefined && !target) {
      writeStderr(`cpuprof: help: unknown command '${printable(rest[0], 40)}' (see 'cpuprof --help')`);
      return EXIT.badInput;
    }
    writeStdout(target ? `${(await target.load()).help}\n` : globalHelp());
    return EXIT.ok;
  }
  const entry = commands.find((c) => c.name === first);
  if (!entry) {
    writeStderr(`cpuprof: unknown command '${printable(first, 40)}' (see 'cpuprof --help')`);
    return EXIT.badInput;
  }
  const command: Command = await entry.load();
  let code: number;
  try {
    code = await command.run(rest);
  } catch (e) {
    await settleOutputs().catch(() => undefined); // the command's own error is the one to report
    // -h/--help where an option can stand (not as an option's value): the command's help.
    if (!(e instanceof (await args()).HelpRequested)) throw e;
    writeStdout(`${command.help}\n`);
    return EXIT.ok;
  }
  // Every output write finishes (or fails with its exit code) before main returns, awaited or not.
  await settleOutputs();
  return code;
}

export async function runCli(argv: string[]): Promise<never> {
  let code: number;
  try {
    code = await main(argv);
  } catch (e) {
    const { writeStderr } = await io();
    if (e instanceof CpuprofError) {
      // Messages quote input (file names, values): the last guard before the terminal.
      writeStderr(`cpuprof: ${printable(e.message, 4000)}`);
      code = e.exitCode;
    } else {
      writeStderr(
        `cpuprof: internal error: ${printable(String((e as Error)?.message ?? e), 200)} (please report; CPUPROF_DEBUG=1 shows the stack)`,
      );
      if (process.env.CPUPROF_DEBUG) writeStderr(String((e as Error)?.stack));
      code = EXIT_INTERNAL;
    }
  }
  // Exit handlers (io.ts removes temporary files in one), the runtime's streams and its profilers (--cpu-prof,
  // --heap-prof, given in BUN_OPTIONS: they write their files at exit) need the runtime's exit.
  if (runtimeStreamsUsed || process.listenerCount("exit") > 0 || process.execArgv.some((a) => a.endsWith("-prof")))
    process.exit(code);
  return (await io()).exitNow(code);
}

// No top-level await: the entry stays plain for the bytecode compiler.
if (import.meta.main) void runCli(process.argv.slice(2));
