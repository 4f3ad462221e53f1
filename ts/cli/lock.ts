// `concurrent-fs lock`: run a command while holding a lock, like util-linux flock(1).
// As there, the command inherits the locked descriptor (as fd 3): a kernel lock belongs
// to the open file description, so the command holds it for as long as it (or anything
// it leaves running with fd 3 open) lives, even if this process is killed. With --close
// only this process holds it, and it dies with this process however it dies. The
// pure-JS fallback's lock is a marker file, not a descriptor: it always works as --close.
import { runChild } from './child-command';
import type { Command } from './command';
import { loadImpl } from './impl';
import { lockWantsHelp, parseLockArgs } from './lock-args';

const USAGE = `Usage: concurrent-fs lock [OPTIONS] LOCKFILE -- COMMAND [ARGS...]
       concurrent-fs lock [OPTIONS] LOCKFILE COMMAND [ARGS...]
       concurrent-fs lock [OPTIONS] LOCKFILE -c 'SHELL COMMAND'

Runs COMMAND while holding a lock on LOCKFILE (created if missing, never deleted), and
exits with COMMAND's status. Lock a sidecar such as data.json.lock, not a file that is
replaced by rename. Options go before LOCKFILE: as in flock(1), what follows it is
COMMAND's. -c runs its one argument with $SHELL -c (else /bin/sh -c).

As with flock(1), COMMAND inherits the locked descriptor (as fd 3), so the lock lives
as long as COMMAND (and anything it leaves running with fd 3 open) does, even if this
process is killed.

Options:
  -s, --shared       a shared lock, which excludes only exclusive ones
  -x, --exclusive    an exclusive lock (the default)
  --timeout MS       give up after MS milliseconds (default: wait as long as it takes;
                     0: try once)
  -w, --wait SECS    give up after SECS seconds (fractions allowed), as flock(1)'s -w
  -n, --nonblock     give up at once if the lock is held (--timeout 0; wins over -w,
                     which wins over --timeout)
  -E, --conflict-exit-code CODE
                     the exit status when the lock was not had in time (default 75)
  -o, --close        do not pass the lock on: this process alone holds it, and it ends
                     when this process does
  -h, --help         show this help

The pure-JS fallback (CONCURRENT_FS_IMPL=js) has no descriptor to pass on: there the
lock always stays with this process, as with --close.

SIGTERM and SIGHUP sent to this process are passed on to COMMAND, and so are SIGINT and
SIGQUIT, except when a terminal sent them (Ctrl-C, Ctrl-\\): the terminal signals COMMAND
itself, and once is enough.

Exit status: COMMAND's, or 128+N if signal N killed it; 75 (or -E's CODE) if the lock
was not had in time; 126 if COMMAND could not be run, 127 if it was not found; 2 for
bad arguments.
`;

async function run(argv: readonly string[]): Promise<number> {
  const { path, command, shared, timeout, conflictStatus, close } = parseLockArgs(argv);
  const cfs = loadImpl();
  const lock = new cfs.FileLock(path, { shared });
  try {
    await lock.acquire({ timeout });
  } catch (err) {
    if (!(err instanceof cfs.LockTimeoutError)) throw err;
    process.stderr.write(`concurrent-fs lock: '${path}' is held by another process; gave up after ${timeout} ms\n`);
    return conflictStatus;
  }
  try {
    // Undefined for the fallback: its lock is a marker file, with no descriptor to pass on.
    const fd = close ? undefined : lock.descriptor();
    return await runChild('lock', command, {}, fd === undefined ? [] : [fd]);
  } finally {
    // Closes only our descriptor: a copy the command left open keeps the lock, as in flock(1).
    lock.release();
  }
}

export const lock: Command = {
  name: 'lock',
  summary: 'run a command while holding a file lock (like flock)',
  usage: USAGE,
  run,
  wantsHelp: lockWantsHelp,
};
