// EventLog appends of different processes share flushes (ts/events/shared-flush.ts): an
// append whose record a flush that started after its write covered does not flush again,
// and a failed flush fails every append it was to cover. Made deterministic by holding
// the flush lock from the test while the children write, released once the test has
// seen (by tailing the log) every child's record.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FAULT_ENV, STRACE_MISSING } from './helpers/faults';
import { IMPLEMENTATIONS, load } from './helpers/impls';
import { runFixture, stdoutOf } from './helpers/spawn';
import { tempDir } from './helpers/tmp';

const CHILDREN = 4;

interface Outcome {
  token: string;
  seq?: number;
  code?: string;
  datasyncs: number;
}

async function child(impl: string, log: string, token: string, wrapper: string[]): Promise<Outcome> {
  const run = await runFixture('event-flush-child.cjs', [impl, log, token], { env: FAULT_ENV, wrapper });
  return JSON.parse(stdoutOf(run, `child ${token}`)) as Outcome;
}

/** Starts the children with the flush lock held here; releases it once every record is in the log. */
async function appendWhileFlushesWait(impl: (typeof IMPLEMENTATIONS)[number], wrapper: string[] = []): Promise<Outcome[]> {
  const cfs = load(impl);
  const path = join(tempDir('shared-flush-log'), 'events.log');
  const flushLock = new cfs.FileLock(`${path}.flush.lock`);
  await flushLock.acquire();
  const outcomes = Array.from({ length: CHILDREN }, (_, i) => child(impl, path, `c${i}`, wrapper));
  const seen = new Set<string>();
  const stop = new AbortController();
  for await (const e of new cfs.EventLog(path, { durability: 'none' }).tail({ from: 1, signal: stop.signal })) {
    seen.add((e.data as { token: string }).token);
    if (seen.size === CHILDREN) break;
  }
  flushLock.release();
  return Promise.all(outcomes);
}

describe.each(IMPLEMENTATIONS)('EventLog flushes shared across processes (%s)', (impl) => {
  it(`${CHILDREN} processes whose records are all written before any flush: one fdatasync in all, every append acknowledged`, async () => {
    const outcomes = await appendWhileFlushesWait(impl);
    expect(outcomes.map((o) => o.seq).sort()).toEqual([1, 2, 3, 4]);
    expect(outcomes.reduce((sum, o) => sum + o.datasyncs, 0)).toBe(1);
  });

  it.skipIf(STRACE_MISSING)('the one flush fails (EIO): every append it was to cover fails, none flushes again', async () => {
    const outcomes = await appendWhileFlushesWait(impl, ['strace', '-f', '-qq', '-o', '/dev/null', '-e', 'inject=fdatasync:error=EIO']);
    expect(outcomes.map((o) => o.code)).toEqual(['EIO', 'EIO', 'EIO', 'EIO']);
    expect(outcomes.reduce((sum, o) => sum + o.datasyncs, 0)).toBe(1);
  });
});
