// The command line of every command: options as the command declares them, values taken as
// values (`--description -h` is a description), `--` ends the options, `-` is a positional
// (stdin). Errors are the tool's own one line (exit 2). -h/--help anywhere an option can be
// asks for the command's help (HelpRequested), whatever else the line holds.
import { CpuprofError, EXIT, InputError } from "../errors.ts";
import { printable } from "../model/document.ts";

/**
 * A command's options: how to parse each, and what its --help says about it (`arg` names the
 * value, `help` may hold line breaks). The help's Options section is made from this (optionsHelp),
 * so the two cannot disagree.
 */
export type OptionSpec = Record<
  string,
  {
    type: "string" | "boolean";
    short?: string;
    multiple?: boolean;
    default?: string | boolean;
    arg?: string;
    help?: string;
  }
>;

/** The label of one option in help: `--name ARG`, or `-o FILE` for a one-letter option. */
function optionLabel(name: string, spec: OptionSpec[string]): string {
  return `${name.length === 1 ? `-${name}` : `--${name}`}${spec.arg ? ` ${spec.arg}` : ""}`;
}

/** The Options section of a command's help, from its spec: one entry per option, then -h, --help. */
export function optionsHelp(options: OptionSpec): string {
  const rows: [string, string][] = Object.entries(options).map(([name, spec]) => [
    optionLabel(name, spec),
    spec.help ?? "",
  ]);
  rows.push(["-h, --help", "this help"]);
  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  return rows
    .map(([label, text]) => {
      const [first, ...rest] = text.split("\n");
      return [
        `  ${label.padEnd(width)}${first}`.trimEnd(),
        ...rest.map((l) => `  ${" ".repeat(width)}${l}`.trimEnd()),
      ].join("\n");
    })
    .join("\n");
}

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/** Thrown when the command line asks for help; main prints the command's help and exits 0. */
export class HelpRequested extends CpuprofError {
  constructor(readonly command: string) {
    super(`help for ${command}`, EXIT.ok);
  }
}

function see(command: string): string {
  return `(see 'cpuprof ${command} --help')`;
}

export function parseCommandArgs(command: string, argv: string[], options: OptionSpec): Parsed {
  const values: Parsed["values"] = {};
  const positionals: string[] = [];
  // Loops rather than Object.entries/flatMap/Map: this runs once per command, cold, where each first use of
  // those builtins costs more than the scan.
  const byShort = (letter: string): string | undefined => {
    for (const name in options) if (options[name]!.short === letter) return name;
    return undefined;
  };
  let help = false;
  let problem: string | undefined;
  const fail = (msg: string) => {
    problem ??= msg;
  };
  const set = (name: string, value: string | boolean) => {
    const spec = options[name]!;
    if (spec.multiple) values[name] = [...((values[name] as string[] | undefined) ?? []), String(value)];
    else values[name] = value;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg === "-" || !arg.startsWith("-")) {
      positionals.push(arg);
      continue;
    }
    let name: string | undefined;
    let inline: string | undefined;
    let shown: string;
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const key = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      inline = eq < 0 ? undefined : arg.slice(eq + 1);
      shown = `--${key}`;
      if (key === "help") {
        help = true;
        continue;
      }
      name = Object.hasOwn(options, key) ? key : undefined;
    } else {
      const letter = arg.slice(1, 2);
      inline = arg.length > 2 ? arg.slice(2) : undefined;
      shown = `-${letter}`;
      if (letter === "h" && inline === undefined) {
        help = true;
        continue;
      }
      name = byShort(letter);
    }
    if (name === undefined) {
      fail(`${command}: unknown option '${printable(shown, 40)}' ${see(command)}`);
      continue;
    }
    const spec = options[name]!;
    if (spec.type === "boolean") {
      if (inline !== undefined) fail(`${command}: ${shown} takes no value ${see(command)}`);
      else set(name, true);
      continue;
    }
    if (inline !== undefined) {
      set(name, inline.startsWith("=") && !arg.startsWith("--") ? inline.slice(1) : inline);
      continue;
    }
    if (i + 1 >= argv.length) {
      fail(`${command}: ${shown} expects a value ${see(command)}`);
      continue;
    }
    set(name, argv[++i]!);
  }
  if (help) throw new HelpRequested(command);
  if (problem !== undefined) throw new InputError(problem);
  for (const name in options) {
    const fallback = options[name]!.default;
    if (values[name] === undefined && fallback !== undefined) values[name] = fallback;
  }
  return { values, positionals };
}

export function stringOpt(p: Parsed, name: string): string | undefined {
  const v = p.values[name];
  return typeof v === "string" ? v : undefined;
}

export function boolOpt(p: Parsed, name: string): boolean {
  return p.values[name] === true;
}

export function listOpt(p: Parsed, name: string): string[] {
  const v = p.values[name];
  return Array.isArray(v) ? v : typeof v === "string" ? [v] : [];
}

/** A non-negative integer option (decimal or 0x hex) within [min, max]. */
export function intOpt(command: string, p: Parsed, name: string, min: number, max: number): number | undefined {
  const raw = stringOpt(p, name);
  if (raw === undefined) return undefined;
  const n = /^0x[0-9a-f]+$/i.test(raw) ? Number.parseInt(raw.slice(2), 16) : /^[0-9]+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw new InputError(`${command}: --${name} expects an integer from ${min} to ${max}, got '${printable(raw, 40)}'`);
  return n;
}

export function choiceOpt<T extends string>(
  command: string,
  p: Parsed,
  name: string,
  choices: readonly T[],
): T | undefined {
  const raw = stringOpt(p, name);
  if (raw === undefined) return undefined;
  if (!(choices as readonly string[]).includes(raw))
    throw new InputError(`${command}: --${name} expects one of ${choices.join(", ")}, got '${printable(raw, 40)}'`);
  return raw as T;
}

export function expectPositionals(command: string, p: Parsed, min: number, max: number, what: string): string[] {
  if (p.positionals.length < min || p.positionals.length > max)
    throw new InputError(`${command}: expected ${what} (see 'cpuprof ${command} --help')`);
  return p.positionals;
}
