// `concurrent-fs status`: who holds each lock file now (lockStatus), without taking or
// creating any. One line per file, human or JSON.
import { parseCommandArgs, UsageError } from './args';
import type { Command } from './command';
import { EXIT_FAILURE } from './exit';
import { loadImpl } from './impl';
import { Output } from './output';

const USAGE = `Usage: concurrent-fs status [--json] LOCKFILE...

Says who holds each LOCKFILE now, one line per file, without taking the lock or
creating the file. A missing file is free. On Linux the holders come from the kernel's
lock table (/proc/locks), so flock(1), py-filelock and other flock users show up too;
elsewhere whether a lock is held is learned by a try that is let go at once, and
holders may not be known.

Options:
  --json      one JSON object a line:
              {"path":P,"locked":B,"shared":B,"holders":[{"pid":N,"host":H?}...]}
  -h, --help  show this help

Lines look like:
  data.lock: free
  data.lock: held exclusive by pid 1234
  data.lock: held shared by pids 1234, 5678
  data.lock: held exclusive (holder not visible)

Exit status: 0 when every file was looked at, held or not; 1 if one could not be (the
error is on stderr); 2 for bad arguments.
`;

const OPTIONS = { json: { type: 'boolean' } } as const;

type Status = Awaited<ReturnType<ReturnType<typeof loadImpl>['lockStatus']>>;

function describe(path: string, status: Status): string {
  if (!status.locked) return `${path}: free`;
  const kind = status.shared ? 'shared' : 'exclusive';
  if (status.holders.length === 0) return `${path}: held ${kind} (holder not visible)`;
  const pids = status.holders.map((h) => (h.host === undefined ? `${h.pid}` : `${h.pid} on ${h.host}`));
  return `${path}: held ${kind} by ${pids.length === 1 ? 'pid' : 'pids'} ${pids.join(', ')}`;
}

async function run(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, OPTIONS);
  if (positionals.length === 0) throw new UsageError('missing LOCKFILE');
  const { lockStatus } = loadImpl();
  const out = new Output();
  let status = 0;
  for (const path of positionals) {
    let line: string;
    try {
      const found = await lockStatus(path);
      line = values.json ? JSON.stringify({ path, ...found }) : describe(path, found);
    } catch (err) {
      process.stderr.write(`concurrent-fs status: ${err instanceof Error ? err.message : String(err)}\n`);
      status = EXIT_FAILURE;
      continue;
    }
    if (!(await out.write(`${line}\n`))) break;
  }
  return status;
}

export const status: Command = { name: 'status', summary: 'say who holds each lock file (without taking it)', usage: USAGE, run };
