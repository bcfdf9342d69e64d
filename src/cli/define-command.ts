// Defining a command: its arguments are parsed against its own options before its code runs. Apart from
// command.ts, so that start-up (which needs only the exit-code help) does not link the argument parser.
import { type OptionSpec, type Parsed, parseCommandArgs } from "./args.ts";
import type { Command } from "./command.ts";

/**
 * A command whose arguments are parsed against its own options before `run` sees them. Its help text is
 * made when first read: building every option table at load was ~0.15 ms of a cold run that prints none.
 */
export function defineCommand(c: {
  name: string;
  help: () => string;
  options: OptionSpec;
  run(args: Parsed): Promise<number> | number;
}): Command {
  let help: string | undefined;
  return {
    name: c.name,
    get help() {
      help ??= c.help();
      return help;
    },
    options: c.options,
    run: (argv) => c.run(parseCommandArgs(c.name, argv, c.options)),
  };
}
