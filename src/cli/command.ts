// The shape of a CLI command: parse, call the core, print. No decisions here.
import type { OptionSpec } from "./args.ts";
export interface Command {
  name: string;
  /** Full --help text. */
  help: string;
  /** The options it parses; its help's Options section is made from them (optionsHelp). */
  options: OptionSpec;
  run(argv: string[]): Promise<number> | number;
}

export const EXIT_CODES_HELP = `Exit codes:
  0  success: compatible, every check held, inputs equal
  1  a check failed: incompatible, the guest saw something unexpected, inputs differ
  2  bad input: arguments, files, JSON (one line on stderr naming file and JSON path)
  3  environment: no /dev/kvm, permission denied, an ioctl or capability missing
  4  output: stdout or the -o file could not be written (disk full, no such directory, ...);
     the previous file is left as it was
  70  internal error: a bug in cpuprof (please report it; CPUPROF_DEBUG=1 shows the stack)
  130  cancelled (Ctrl-C, SIGTERM, SIGHUP): nothing half-written is left
Files: '-' is stdin (inputs) or stdout (-o); inputs at most 8 MiB of UTF-8.`;
