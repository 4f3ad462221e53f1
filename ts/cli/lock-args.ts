// The arguments of `concurrent-fs lock`, in util-linux flock(1)'s grammar as well as ours:
//
//   lock [OPTIONS] LOCKFILE -- COMMAND [ARGS...]     (ours)
//   lock [OPTIONS] LOCKFILE COMMAND [ARGS...]        (flock: options end at LOCKFILE)
//   lock [OPTIONS] LOCKFILE -c 'SHELL COMMAND'       (flock: run by $SHELL, else /bin/sh)
//
// Options come before LOCKFILE; as in flock(1), everything after it belongs to COMMAND,
// so `lock f grep -n x` runs `grep -n x`. Ours may also sit between LOCKFILE and `--`
// (`lock f --shared -- cmd`), as they always could.
import { integerArg, parseCommandArgs, UsageError } from './args';
import { EXIT_TEMPFAIL } from './exit';

const OPTIONS = {
  shared: { type: 'boolean', short: 's' },
  exclusive: { type: 'boolean', short: 'x' },
  timeout: { type: 'string' },
  wait: { type: 'string', short: 'w' },
  nonblock: { type: 'boolean', short: 'n' },
  'conflict-exit-code': { type: 'string', short: 'E' },
  close: { type: 'boolean', short: 'o' },
} as const;

/** Options that take a value, as written on the command line. */
const LONG_WITH_VALUE = new Set(['--timeout', '--wait', '--conflict-exit-code']);
const SHORT_WITH_VALUE = new Set(['w', 'E']);

/** About 24.8 days: the longest timer Node keeps. */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

export interface LockArgs {
  path: string;
  /** The program and its arguments. */
  command: string[];
  shared: boolean;
  /** ms; Infinity: wait as long as it takes; 0: try once. */
  timeout: number;
  /** The exit status when the lock was not had in time. */
  conflictStatus: number;
  /** Keep the lock with this process instead of passing it to COMMAND. */
  close: boolean;
}

/** How many arguments from `at` are options (an option's value included). */
function optionsAt(argv: readonly string[], at: number): number {
  let i = at;
  while (i < argv.length) {
    const arg = argv[i]!;
    if (arg === '--' || arg === '-' || !arg.startsWith('-')) break;
    i += takesNextArgument(arg) ? 2 : 1;
  }
  return Math.min(i, argv.length) - at;
}

/** `--timeout 5` and `-w 5` (or `-nw 5`) take the next argument; `-w5` and `--wait=5` do not. */
function takesNextArgument(arg: string): boolean {
  if (arg.startsWith('--')) return LONG_WITH_VALUE.has(arg);
  const letters = arg.slice(1);
  const first = [...letters].findIndex((c) => SHORT_WITH_VALUE.has(c));
  return first === letters.length - 1;
}

/** The shell command line flock(1) runs for `-c`: `$SHELL -c CMD`, else `/bin/sh -c CMD`. */
function shellCommand(line: string): string[] {
  if (process.platform === 'win32') return [process.env.ComSpec ?? 'cmd.exe', '/d', '/s', '/c', line];
  return [process.env.SHELL || '/bin/sh', '-c', line];
}

/** Splits argv into our options, LOCKFILE and COMMAND. */
function split(argv: readonly string[]): { own: string[]; path: string; command: string[] } {
  const lead = optionsAt(argv, 0);
  if (argv[lead] === '--' || lead === argv.length) throw new UsageError('missing LOCKFILE');
  const path = argv[lead]!;
  const rest = argv.slice(lead + 1);
  const own = argv.slice(0, lead);
  const between = optionsAt(rest, 0);
  if (rest[between] === '--') own.push(...rest.slice(0, between));
  const command = rest[between] === '--' ? rest.slice(between + 1) : rest;
  if (command[0] === '-c' || command[0] === '--command') {
    if (command.length !== 2) throw new UsageError(`${command[0]} requires exactly one command argument`);
    return { own, path, command: shellCommand(command[1]!) };
  }
  if (command.length === 0) throw new UsageError("missing COMMAND (after LOCKFILE, or after '--')");
  return { own, path, command };
}

/** `-w` takes seconds with a decimal fraction, as in flock(1). */
function secondsArg(text: string): number {
  const seconds = /^[0-9]+(\.[0-9]+)?$/.test(text) ? Number(text) : Number.NaN;
  if (!(seconds * 1000 <= MAX_TIMEOUT_MS)) {
    throw new UsageError(`-w/--wait must be a number of seconds from 0 to ${Math.floor(MAX_TIMEOUT_MS / 1000)}, not '${text}'`);
  }
  return Math.ceil(seconds * 1000); // a nonzero wait stays nonzero
}

export function parseLockArgs(argv: readonly string[]): LockArgs {
  const { own, path, command } = split(argv);
  const { values, positionals } = parseCommandArgs(own, OPTIONS);
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  if (values.shared && values.exclusive) throw new UsageError('choose one of -s/--shared and -x/--exclusive');
  // As in flock(1), -n wins over -w (`-nw 5` never waits); -w over our --timeout.
  let timeout = integerArg(values.timeout, '--timeout', { min: 0, max: MAX_TIMEOUT_MS }, Number.POSITIVE_INFINITY);
  if (values.wait !== undefined) timeout = secondsArg(values.wait);
  if (values.nonblock) timeout = 0;
  const conflictStatus = integerArg(values['conflict-exit-code'], '-E/--conflict-exit-code', { min: 0, max: 255 }, EXIT_TEMPFAIL);
  return { path, command, shared: values.shared ?? false, timeout, conflictStatus, close: values.close ?? false };
}

/** Whether argv asks for help: only among the options before LOCKFILE (after it, `-h` is COMMAND's). */
export function lockWantsHelp(argv: readonly string[]): boolean {
  const own = argv.slice(0, optionsAt(argv, 0));
  return own.includes('--help') || own.includes('-h');
}
