// Reading a command's arguments: node:util's parseArgs in strict mode (an unknown flag is
// an error), plus the checks every command needs for numbers, choices and positionals.
// Anything wrong throws a UsageError, which the CLI turns into usage on stderr and exit 2.
import { parseArgs } from 'node:util';

/** Bad arguments. The message says what is wrong; the CLI adds the command's usage. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
}

/** Specs of flags that take a value (`--dir D`), for the options of parseArgs. */
export function valueFlags<N extends string>(...names: N[]): Record<N, { type: 'string' }> {
  return Object.fromEntries(names.map((name) => [name, { type: 'string' }])) as Record<N, { type: 'string' }>;
}

/** Specs of flags that take no value (`--json`). */
export function switchFlags<N extends string>(...names: N[]): Record<N, { type: 'boolean' }> {
  return Object.fromEntries(names.map((name) => [name, { type: 'boolean' }])) as Record<N, { type: 'boolean' }>;
}

type Values<S extends Record<string, OptionSpec>> = {
  [K in keyof S]?: S[K]['type'] extends 'boolean' ? boolean : string;
};

export interface ParsedArgs<S extends Record<string, OptionSpec>> {
  values: Values<S>;
  positionals: string[];
}

/** Options may come before or after positionals; `--` ends the options. */
export function parseCommandArgs<S extends Record<string, OptionSpec>>(argv: readonly string[], options: S): ParsedArgs<S> {
  try {
    const { values, positionals } = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
    return { values: values as Values<S>, positionals };
  } catch (err) {
    // parseArgs explains itself in its first sentence ("Unknown option '--x'").
    const message = err instanceof Error ? err.message.split('. ')[0]! : String(err);
    throw new UsageError(message);
  }
}

/** True when `argv` asks for help before any `--` (after it, `--help` is the command's). */
export function wantsHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  const own = end < 0 ? argv : argv.slice(0, end);
  return own.includes('--help') || own.includes('-h');
}

/** The one positional a command takes, named `name` in its usage. */
export function onePositional(positionals: readonly string[], name: string): string {
  if (positionals.length === 0) throw new UsageError(`missing ${name}`);
  if (positionals.length > 1) throw new UsageError(`expected one ${name}, got ${positionals.length}: ${positionals.join(' ')}`);
  return positionals[0]!;
}

/** A decimal integer in [min, max]; `fallback` when the flag is absent. */
export function integerArg<F>(text: string | undefined, flag: string, range: { min: number; max: number }, fallback: F): number | F {
  if (text === undefined) return fallback;
  // Number() alone would accept '', ' 1', '1e3' and '0x10'.
  const value = /^[0-9]+$/.test(text) ? Number(text) : Number.NaN;
  if (!(value >= range.min && value <= range.max)) {
    throw new UsageError(`${flag} must be an integer from ${range.min} to ${range.max}, not '${text}'`);
  }
  return value;
}

/** One of `choices`; `fallback` when the flag is absent. */
export function choiceArg<C extends string, F>(text: string | undefined, flag: string, choices: readonly C[], fallback: F): C | F {
  if (text === undefined) return fallback;
  if (!(choices as readonly string[]).includes(text)) {
    throw new UsageError(`${flag} must be one of ${choices.join(', ')}, not '${text}'`);
  }
  return text as C;
}
