// `concurrent-fs lock`: run a command while holding a lock, like util-linux flock(1).
// This process holds the lock, not the command: the lock's descriptor is close-on-exec,
// so neither the command nor anything it leaves running in the background keeps it.
// The lock is released when the command ends, and dies with this process however it
// dies.
import { spawn } from 'node:child_process';
import { integerArg, onePositional, parseCommandArgs, UsageError } from './args';
import type { Command } from './command';
import { EXIT_TEMPFAIL, onTermination, signalStatus } from './exit';
import { loadImpl } from './impl';

const USAGE = `Usage: concurrent-fs lock [--shared] [--timeout MS] LOCKFILE -- COMMAND [ARGS...]

Runs COMMAND while holding a lock on LOCKFILE (created if missing, never deleted), and
exits with COMMAND's status. Lock a sidecar such as data.json.lock, not a file that is
replaced by rename.

Options:
  --shared       a shared lock, which excludes only exclusive ones (default: exclusive)
  --timeout MS   give up after MS milliseconds (default: wait as long as it takes;
                 0: try once)
  -h, --help     show this help

SIGINT, SIGTERM and SIGHUP sent to this process are passed on to COMMAND.

Exit status: COMMAND's, or 128+N if signal N killed it; 75 if the lock was not had in
time; 126 if COMMAND could not be run, 127 if it was not found; 2 for bad arguments.
`;

const OPTIONS = {
  shared: { type: 'boolean' },
  timeout: { type: 'string' },
} as const;

/** About 24.8 days: the longest timer Node keeps. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** The arguments before `--` are ours; the command is everything after it. */
function splitAtCommand(argv: readonly string[]): { own: readonly string[]; command: string[] } {
  const end = argv.indexOf('--');
  if (end < 0) throw new UsageError("missing '-- COMMAND' (the command to run goes after '--')");
  const command = argv.slice(end + 1);
  if (command.length === 0) throw new UsageError("missing COMMAND after '--'");
  return { own: argv.slice(0, end), command };
}

/** Runs `command` with our stdio, passing termination signals on; resolves to its status. */
function runCommand([file, ...args]: string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(file!, args, { stdio: 'inherit' });
    // A terminal's Ctrl-C reaches the command directly too (same process group); this
    // covers signals sent to us alone, by `kill PID` or a supervisor.
    const restore = onTermination((signal) => child.kill(signal));
    child.on('error', (err: NodeJS.ErrnoException) => {
      restore();
      process.stderr.write(`concurrent-fs lock: cannot run '${file}': ${err.message}\n`);
      resolve(err.code === 'ENOENT' ? 127 : 126);
    });
    child.on('exit', (code, signal) => {
      restore();
      resolve(signal ? signalStatus(signal) : (code ?? 1));
    });
  });
}

async function run(argv: readonly string[]): Promise<number> {
  const { own, command } = splitAtCommand(argv);
  const { values, positionals } = parseCommandArgs(own, OPTIONS);
  const path = onePositional(positionals, 'LOCKFILE');
  const timeout = integerArg(values.timeout, '--timeout', { min: 0, max: MAX_TIMEOUT_MS }, Number.POSITIVE_INFINITY);
  const cfs = loadImpl();
  const lock = new cfs.FileLock(path, { shared: values.shared ?? false });
  try {
    await lock.acquire({ timeout });
  } catch (err) {
    if (!(err instanceof cfs.LockTimeoutError)) throw err;
    process.stderr.write(`concurrent-fs lock: '${path}' is held by another process; gave up after ${timeout} ms\n`);
    return EXIT_TEMPFAIL;
  }
  try {
    return await runCommand(command);
  } finally {
    lock.release();
  }
}

export const lock: Command = { name: 'lock', summary: 'run a command while holding a file lock (like flock)', usage: USAGE, run };
