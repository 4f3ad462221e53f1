// `concurrent-fs demo-worker` (internal): one of the demo's worker processes. It leases a
// worker ID inside the shared store, waits for the parent's go, then runs three phases —
// locked updates, optimistic updates, minting IDs — and reports over the IPC channel.
import { once } from 'node:events';
import { join } from 'node:path';
import { choiceArg, integerArg, parseCommandArgs, UsageError, valueFlags } from './args';
import type { Command } from './command';
import {
  type Counter,
  FAULT_ENV,
  type GoMessage,
  IDS_DIR,
  LEASE_DIR,
  LOCKED_COUNTER,
  OPTIMISTIC_COUNTER,
  type Phase,
  type Progress,
  type Span,
  type WorkerMessage,
  wallClock,
} from './demo-protocol';
import { type Cfs, IMPL_NAMES, loadImpl } from './impl';

const USAGE = `Usage: concurrent-fs demo-worker --dir D --updates M --ids K --impl native|js --index I

Internal: one worker process of 'concurrent-fs demo', which starts it.
`;

const OPTIONS = valueFlags('dir', 'updates', 'ids', 'impl', 'index');

/** Progress goes to the parent at most this often (ms), and at the end of each phase. */
const PROGRESS_INTERVAL_MS = 50;
/** Snowflake IDs per nextBatch call. */
const BATCH = 8192;
/**
 * Enough retries that four or more workers racing for one document never give up (the
 * library's default, 10, is for real work that had better fail than stall).
 */
const OPTIMISTIC_RETRIES = 1000;

type Store = InstanceType<Cfs['ConcurrentFileStore']>;

function send(message: WorkerMessage): Promise<void> {
  return new Promise((resolve, reject) => process.send!(message, undefined, {}, (err) => (err ? reject(err) : resolve())));
}

/** Counts what this worker did, and tells the parent now and then. */
class Reporter {
  readonly progress: Progress = { locked: 0, optimistic: 0, conflicts: 0, ids: 0 };
  #last = 0;

  tick(): void {
    const now = performance.now();
    if (now - this.#last < PROGRESS_INTERVAL_MS) return;
    this.#last = now;
    this.flush();
  }

  flush(): void {
    // If the parent has gone, the 'disconnect' handler ends this process.
    send({ type: 'progress', progress: { ...this.progress } }).catch(() => undefined);
  }
}

const increment = (current: Counter | undefined): Counter => ({ count: (current?.count ?? 0) + 1 });

async function lockedUpdates(store: Store, updates: number, reporter: Reporter, killHalfway: boolean): Promise<void> {
  for (let i = 0; i < updates; i++) {
    await store.update<Counter>(LOCKED_COUNTER, (current) => {
      // The injected fault: die holding the lock; the other workers must carry on.
      if (killHalfway && i === Math.floor(updates / 2)) process.kill(process.pid, 'SIGKILL');
      return increment(current);
    });
    reporter.progress.locked++;
    reporter.tick();
  }
  reporter.flush();
}

async function optimisticUpdates(store: Store, updates: number, reporter: Reporter): Promise<number> {
  let maxAttempts = 0;
  for (let i = 0; i < updates; i++) {
    let attempts = 1;
    const onConflict = () => {
      reporter.progress.conflicts++;
      attempts++;
    };
    await store.updateOptimistic<Counter>(OPTIMISTIC_COUNTER, increment, { retries: OPTIMISTIC_RETRIES, onConflict });
    maxAttempts = Math.max(maxAttempts, attempts);
    reporter.progress.optimistic++;
    reporter.tick();
  }
  reporter.flush();
  return maxAttempts;
}

function mintIds(snowflake: InstanceType<Cfs['Snowflake']>, count: number, reporter: Reporter): BigUint64Array[] {
  const batches: BigUint64Array[] = [];
  for (let left = count; left > 0; left -= BATCH) {
    const batch = snowflake.nextBatch(Math.min(BATCH, left));
    batches.push(batch);
    reporter.progress.ids += batch.length;
    reporter.tick();
  }
  reporter.flush();
  return batches;
}

/** The IDs, one a line, for the parent to check (outside the timed phase). */
async function writeIds(cfs: Cfs, path: string, batches: readonly BigUint64Array[]): Promise<void> {
  const file = await cfs.openAtomic(path, { durability: 'none' });
  for (const batch of batches) await file.write(`${batch.join('\n')}\n`);
  await file.commit();
}

/** Waits until the parent says every worker is ready for `phase`. */
async function barrier(phase: Phase): Promise<void> {
  const go = once(process, 'message') as Promise<[GoMessage]>; // listening before 'ready', so go cannot be missed
  await send({ type: 'ready', phase });
  if ((await go)[0].type !== 'go') throw new Error('unexpected message from the parent');
}

async function phase(name: Phase, body: () => Promise<void>): Promise<Span> {
  await barrier(name);
  const start = wallClock();
  await body();
  return { start, end: wallClock() };
}

/** The worker's three phases, with a leased worker ID, then its report. */
async function work(cfs: Cfs, dir: string, updates: number, ids: number, index: number): Promise<void> {
  const store = new cfs.ConcurrentFileStore(dir);
  const lease = await cfs.leaseWorkerId(join(dir, LEASE_DIR));
  try {
    const reporter = new Reporter();
    const killHalfway = process.env[FAULT_ENV] === 'sigkill' && index === 0;
    const locked = await phase('locked', () => lockedUpdates(store, updates, reporter, killHalfway));
    let maxAttempts = 0;
    const optimistic = await phase('optimistic', async () => {
      maxAttempts = await optimisticUpdates(store, updates, reporter);
    });
    let batches: BigUint64Array[] = [];
    const minted = await phase('ids', async () => {
      batches = mintIds(new cfs.Snowflake({ workerId: lease.id }), ids, reporter);
    });
    await writeIds(cfs, join(dir, IDS_DIR, `worker-${lease.id}.txt`), batches);
    const report = {
      workerId: lease.id,
      locked,
      optimistic: { ...optimistic, conflicts: reporter.progress.conflicts, maxAttempts },
      ids: minted,
    };
    await send({ type: 'done', progress: reporter.progress, report });
  } finally {
    lease.release();
  }
}

/** The parent died: stop rather than run on unwatched. */
function orphaned(): void {
  process.exit(1);
}

async function run(argv: readonly string[]): Promise<number> {
  if (!process.send) throw new UsageError("demo-worker is started by 'concurrent-fs demo', with an IPC channel");
  const { values } = parseCommandArgs(argv, OPTIONS);
  if (values.dir === undefined) throw new UsageError('missing --dir');
  const updates = integerArg(values.updates, '--updates', { min: 0, max: Number.MAX_SAFE_INTEGER }, 0);
  const ids = integerArg(values.ids, '--ids', { min: 0, max: Number.MAX_SAFE_INTEGER }, 0);
  const index = integerArg(values.index, '--index', { min: 0, max: Number.MAX_SAFE_INTEGER }, 0);
  const cfs = loadImpl(choiceArg(values.impl, '--impl', IMPL_NAMES, 'native'));
  process.on('disconnect', orphaned);
  try {
    await work(cfs, values.dir, updates, ids, index);
  } finally {
    // The open channel would keep this process alive, on success and on failure alike.
    process.off('disconnect', orphaned);
    if (process.connected) process.disconnect();
  }
  return 0;
}

export const demoWorker: Command = { name: 'demo-worker', summary: 'internal: a worker of the demo', usage: USAGE, run };
