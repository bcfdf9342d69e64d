// node:util parseArgs with one-line errors (exit 2) instead of exceptions with stacks.
import { parseArgs } from "node:util";
import { InputError } from "../errors.ts";
import { printable } from "../model/document.ts";

export type OptionSpec = Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean; default?: string | boolean }>;

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

export function parseCommandArgs(command: string, argv: string[], options: OptionSpec): Parsed {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { help: { type: "boolean", short: "h" }, ...options },
      allowPositionals: true,
      strict: true,
    });
    return { values: values as Parsed["values"], positionals };
  } catch (e) {
    const msg = (e as Error).message.split("\n")[0] ?? "bad arguments";
    throw new InputError(`${command}: ${printable(msg, 160)} (see 'cpuprof ${command} --help')`);
  }
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

export function choiceOpt<T extends string>(command: string, p: Parsed, name: string, choices: readonly T[]): T | undefined {
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
