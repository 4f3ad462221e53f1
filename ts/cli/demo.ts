// `concurrent-fs demo`: the project's main job in miniature. N worker processes share one
// ConcurrentFileStore: each makes M locked updates of one counter document, M optimistic
// updates of another, and mints IDs with a leased worker ID. The parent shows progress,
// then checks that no update was lost, no ID repeated and no temp file was left.
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { choiceArg, integerArg, parseCommandArgs, UsageError, valueFlags } from './args';
import type { Command } from './command';
import { IDS_DIR } from './demo-protocol';
import { checkInvariants, formatSummary, type Setup } from './demo-report';
import { type Crew, startCrew } from './demo-workers';
import { EXIT_FAILURE, onTermination, signalStatus } from './exit';
import { IMPL_NAMES, type ImplName, loadImpl } from './impl';
import { ProgressDisplay, type Totals } from './progress';

const USAGE = `Usage: concurrent-fs demo [--workers N] [--updates M] [--ids K] [--dir D] [--impl native|js] [--time-limit S]

The main job in miniature: N processes share one JSON store. Each makes M locked updates
of one counter (store.update) and M optimistic ones of another (store.updateOptimistic,
retried on conflict), then mints K Snowflake IDs with a leased worker ID. Then the demo
checks that both counters are exactly N*M, that all IDs are distinct, and that no temp
file was left, and prints the throughput. Writes are durable ('full'): each one waits
for the disk.

Options:
  --workers N      worker processes (default 4)
  --updates M      updates of each kind per worker (default 500)
  --ids K          IDs per worker (default 100000)
  --dir D          keep the store in D, a new or empty directory (default: a temp
                   directory, removed afterwards unless a check failed)
  --impl I         native or js (default: native if the addon loads)
  --time-limit S   kill the workers and fail after S seconds (default 600)
  -h, --help       show this help

Exit status: 0 when every check passed; 1 otherwise; 2 for bad arguments.
`;

const OPTIONS = valueFlags('workers', 'updates', 'ids', 'dir', 'impl', 'time-limit');

/** Leased worker IDs have 10 bits. */
const MAX_WORKERS = 1024;
const MAX_PER_WORKER = 100_000_000;

/** The store's directory: D if given (it must hold no earlier run), else a fresh temp one. */
async function prepareDir(given: string | undefined): Promise<{ dir: string; temporary: boolean }> {
  let dir: string;
  if (given === undefined) dir = await mkdtemp(join(tmpdir(), 'cfs-demo-'));
  else {
    dir = resolve(given);
    await mkdir(dir, { recursive: true });
    // Counters left from an earlier run would make the exact totals meaningless.
    if ((await readdir(dir)).length > 0) throw new UsageError(`--dir ${given} is not empty; the demo needs a fresh store`);
  }
  await mkdir(join(dir, IDS_DIR));
  return { dir, temporary: given === undefined };
}

function totals(crew: Crew): Totals {
  const sum = { updates: 0, conflicts: 0, ids: 0 };
  for (const { progress } of crew.workers) {
    sum.updates += progress.locked + progress.optimistic;
    sum.conflicts += progress.conflicts;
    sum.ids += progress.ids;
  }
  return sum;
}

/** `node dist/cli.js demo-worker --dir D ...` for worker `index`. */
function workerArgs(setup: Setup, impl: ImplName, index: number): string[] {
  const flags = { dir: setup.dir, updates: setup.updates, ids: setup.ids, impl, index };
  return [join(__dirname, '..', 'cli.js'), 'demo-worker', ...Object.entries(flags).flatMap(([name, value]) => [`--${name}`, `${value}`])];
}

/** Runs the workers with live progress; resolves to the signal that interrupted the run, if one did. */
async function runWorkers(setup: Setup, impl: ImplName, timeLimitMs: number): Promise<{ crew: Crew; interrupted?: NodeJS.Signals }> {
  const target = { updates: 2 * setup.workers * setup.updates, conflicts: 0, ids: setup.workers * setup.ids };
  let interrupted: NodeJS.Signals | undefined;
  const display = new ProgressDisplay(target, () => totals(crew));
  const crew = startCrew({
    count: setup.workers,
    args: (index) => workerArgs(setup, impl, index),
    timeLimitMs,
    onFailure: (worker) => {
      // Workers we stopped ourselves, on an interrupt, are not news.
      if (!interrupted) display.note(`concurrent-fs demo: ${worker.failure}`);
    },
  });
  const restore = onTermination((signal) => {
    interrupted = signal;
    crew.stop('SIGTERM');
  });
  display.start();
  try {
    await crew.done;
  } finally {
    display.stop();
    restore();
  }
  return interrupted ? { crew, interrupted } : { crew };
}

async function run(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, OPTIONS);
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const workers = integerArg(values.workers, '--workers', { min: 1, max: MAX_WORKERS }, 4);
  const updates = integerArg(values.updates, '--updates', { min: 0, max: MAX_PER_WORKER }, 500);
  const ids = integerArg(values.ids, '--ids', { min: 0, max: MAX_PER_WORKER }, 100_000);
  const timeLimit = integerArg(values['time-limit'], '--time-limit', { min: 1, max: 2_000_000 }, 600);
  const cfs = loadImpl(choiceArg(values.impl, '--impl', IMPL_NAMES, undefined));
  const { dir, temporary } = await prepareDir(values.dir);
  const setup: Setup = { workers, updates, ids, dir };

  process.stdout.write(
    `concurrent-fs demo: ${workers} workers x (${updates} locked + ${updates} optimistic updates, ${ids.toLocaleString('en-US')} IDs); ` +
      `${cfs.implementation} implementation; store in ${dir}\n`,
  );
  const { crew, interrupted } = await runWorkers(setup, cfs.implementation, timeLimit * 1000);
  if (interrupted) {
    if (temporary) await rm(dir, { recursive: true, force: true });
    process.stderr.write(`concurrent-fs demo: interrupted by ${interrupted}\n`);
    return signalStatus(interrupted);
  }
  const checks = await checkInvariants(cfs, setup, crew.workers);
  process.stdout.write(formatSummary(setup, crew.workers, checks));
  const ok = checks.every((c) => c.ok);
  if (temporary && ok) await rm(dir, { recursive: true, force: true });
  else if (temporary) process.stdout.write(`\nThe store is kept for inspection: ${dir}\n`);
  return ok ? 0 : EXIT_FAILURE;
}

export const demo: Command = {
  name: 'demo',
  summary: 'N processes share one store: no lost update, no repeated ID (the main job in miniature)',
  usage: USAGE,
  run,
};
