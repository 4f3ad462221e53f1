// Running the COMMAND of a command that holds something while it runs (`task claim
// --hold`, `port lease`): with our stdio, extra environment, termination signals passed
// on (a terminal's Ctrl-C reaches it by itself, once), resolving to a shell's status.
import { spawn } from 'node:child_process';
import { UsageError } from './args';
import { onTermination, signalStatus, TERMINATION_SIGNALS } from './exit';
import { keyboardSignalsReach } from './terminal';

const KEYBOARD_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGQUIT'];
const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = [...TERMINATION_SIGNALS, 'SIGQUIT'];

/** COMMAND: everything after the first `--` (required, and not empty). */
export function commandAfterDashes(argv: readonly string[]): { own: string[]; command: string[] } {
  const end = argv.indexOf('--');
  if (end < 0) return { own: [...argv], command: [] };
  return { own: argv.slice(0, end), command: argv.slice(end + 1) };
}

export function requireCommand(command: readonly string[]): void {
  if (command.length === 0) throw new UsageError("missing COMMAND (after '--')");
}

/**
 * Runs `command` with `env` added; resolves to its status (128+N if signal N killed it,
 * 126/127 if it could not start). `inherit`: descriptors COMMAND gets as fd 3, 4, ...
 * (held locks, so that COMMAND holds them as long as it lives, as with flock(1)).
 * `cwd`: where COMMAND runs (default: here).
 */
export function runChild(
  who: string,
  [file, ...args]: readonly string[],
  env: Record<string, string>,
  inherit: readonly number[] = [],
  cwd?: string,
): Promise<number> {
  return new Promise((resolve) => {
    const stdio = ['inherit', 'inherit', 'inherit', ...inherit] as const;
    const child = spawn(file!, args, { stdio: [...stdio], env: { ...process.env, ...env }, ...(cwd === undefined ? {} : { cwd }) });
    const restore = onTermination((signal) => {
      if (KEYBOARD_SIGNALS.includes(signal) && child.pid !== undefined && keyboardSignalsReach(child.pid)) return;
      child.kill(signal);
    }, FORWARDED_SIGNALS);
    child.on('error', (err: NodeJS.ErrnoException) => {
      restore();
      process.stderr.write(`concurrent-fs ${who}: cannot run '${file}': ${err.message}\n`);
      resolve(err.code === 'ENOENT' ? 127 : 126);
    });
    child.on('exit', (code, signal) => {
      restore();
      resolve(signal ? signalStatus(signal) : (code ?? 1));
    });
  });
}
