// Commands made of verbs (`task add`, `events tail`, `port lease`): the verb picks the
// function; its options are read with node:util's parseArgs, strict, and `multiple` for
// repeatable flags (which args.ts's parseCommandArgs does not offer).
import { type ParseArgsConfig, parseArgs } from 'node:util';

type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig['options']>;

import { UsageError } from './args';

export type Verbs = Record<string, (argv: readonly string[]) => Promise<number>>;

/** Runs the verb `argv[0]` names. */
export function runVerb(verbs: Verbs, argv: readonly string[]): Promise<number> {
  const [verb, ...rest] = argv;
  const names = Object.keys(verbs).join(', ');
  if (verb === undefined) throw new UsageError(`missing verb (one of ${names})`);
  const run = Object.hasOwn(verbs, verb) ? verbs[verb] : undefined;
  if (!run) throw new UsageError(`unknown verb '${verb}' (one of ${names})`);
  return run(rest);
}

export type VerbOptions = ParseArgsOptionsConfig;

export type VerbArgs<O extends VerbOptions> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true }>
>;

/** parseArgs in strict mode; a mistake is a UsageError. */
export function parseVerbArgs<O extends VerbOptions>(argv: readonly string[], options: O): VerbArgs<O> {
  try {
    return parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message.split('. ')[0]! : String(err));
  }
}

/** `text` as JSON; `what` names it in the error. */
export function jsonArg(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`${what} must be JSON (a string is quoted: '"text"'), not '${text}'`);
  }
}

/** All of stdin, as text. */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export function noPositionals(positionals: readonly string[]): void {
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
}
