// A worker ID's IDs never repeat across holders (API.md "IDs", issue 11 item 5): leases
// re-leased in one process and across processes (released, or SIGKILLed mid-mint), two
// generators on one worker ID, and native worker threads sharing one sequence.
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IMPLEMENTATIONS, load } from './helpers/impls';
import { type Finished, runFixture, start, startFixture } from './helpers/spawn';
import { tempDir } from './helpers/tmp';

/** Adds `ids` to `seen`; returns how many were there already. */
function addAll(seen: Set<string>, ids: Iterable<bigint | string>): number {
  let repeated = 0;
  for (const id of ids) {
    const text = String(id);
    if (seen.has(text)) repeated++;
    else seen.add(text);
  }
  return repeated;
}

function expectStrictlyIncreasing(ids: readonly bigint[]): void {
  for (let i = 1; i < ids.length; i++) {
    if (!(ids[i - 1]! < ids[i]!)) expect.fail(`not increasing at ${i}: ${ids[i - 1]} then ${ids[i]}`);
  }
}

interface Relay {
  child: ChildProcessWithoutNullStreams;
  /** Resolves with the worker ID once leased. */
  leased: Promise<number>;
  /** Resolves once at least `n` lines of IDs have arrived. */
  lines(n: number): Promise<void>;
  /** Every ID printed on a complete line so far. */
  ids: string[];
  exited: Promise<Finished>;
}

/** A holder in a relay (fixtures/ids-relay.cjs). */
function startRelay(impl: string, dir: string, offsetMs: number, count: number | 'forever'): Relay {
  const relay = startFixture('ids-relay.cjs', [impl, dir, offsetMs, count]);
  const ids: string[] = [];
  let idLines = 0;
  relay.onLine((line) => {
    if (line.startsWith('leased ')) return;
    ids.push(...line.split(','));
    idLines++;
  });
  const leased = relay.line((line) => line.startsWith('leased ')).then((line) => Number(line.slice(7)));
  const lines = async (n: number) => {
    await relay.line(() => idLines >= n);
  };
  return { child: relay.process, leased, lines, ids, exited: relay.exited };
}

/**
 * Holders whose clocks run ahead of their successors' (by `AHEAD_MS`, alternately) are the
 * case a mark is for: without one, a successor mints in time units its predecessor used.
 * Each holder prints `LINES` lines, at most one a millisecond, so its IDs span more time
 * than the head start, and a successor starting within `AHEAD_MS` lands inside that span.
 */
const AHEAD_MS = 400;
const LINES = 500;
const HOLDERS = 6;

describe.each(IMPLEMENTATIONS)('worker ID leases and high-water marks (%s)', (impl) => {
  const api = load(impl);

  it('200 x (lease, 50 IDs, release) in one process: 10,000 distinct IDs', async () => {
    const dir = tempDir('cfs-id-leases');
    const seen = new Set<string>();
    let repeated = 0;
    for (let round = 0; round < 200; round++) {
      const lease = await api.leaseWorkerId(dir);
      const snowflake = new api.Snowflake({ workerId: lease.id });
      const ids = Array.from({ length: 50 }, () => snowflake.next());
      lease.release();
      repeated += addAll(seen, ids);
    }
    expect(repeated).toBe(0);
    expect(seen.size).toBe(10_000);
  });

  it('two generators on one worker ID, interleaved: no repeats, each strictly increasing', () => {
    const a = new api.Snowflake({ workerId: 77 });
    const b = new api.Snowflake({ workerId: 77 });
    const fromA: bigint[] = [];
    const fromB: bigint[] = [];
    for (let round = 0; round < 2000; round++) {
      fromA.push(a.next());
      fromB.push(b.next());
      if (round % 10 === 0) fromA.push(...a.nextBatch(20));
      if (round % 10 === 5) fromB.push(...b.nextBatch(20));
    }
    expectStrictlyIncreasing(fromA);
    expectStrictlyIncreasing(fromB);
    const seen = new Set<string>();
    expect(addAll(seen, fromA) + addAll(seen, fromB)).toBe(0);
    // Another epoch or layout is another sequence: it starts at its own time.
    const other = new api.Snowflake({ workerId: 77, layout: 'sonyflake' });
    expect(other.parse(other.next()).workerId).toBe(77);
  });

  it(`${HOLDERS} processes in turn lease one ID, mint, print and release: no ID twice`, async () => {
    const dir = tempDir('cfs-id-leases');
    const seen = new Set<string>();
    let repeated = 0;
    for (let i = 0; i < HOLDERS; i++) {
      const holder = startRelay(impl, dir, i % 2 === 0 ? AHEAD_MS : 0, LINES);
      expect(await holder.leased).toBe(0);
      const { code, stderr } = await holder.exited;
      expect(stderr).toBe('');
      expect(code).toBe(0);
      expect(holder.ids).toHaveLength(100 * LINES);
      repeated += addAll(seen, holder.ids);
    }
    expect(repeated).toBe(0);
  });

  it(`${HOLDERS} processes SIGKILLed while minting, each successor minting at once: no ID twice`, async () => {
    const dir = tempDir('cfs-id-leases');
    const seen = new Set<string>();
    let repeated = 0;
    for (let i = 0; i < HOLDERS; i++) {
      const holder = startRelay(impl, dir, i % 2 === 0 ? AHEAD_MS : 0, 'forever');
      expect(await holder.leased).toBe(0);
      await holder.lines(LINES);
      holder.child.kill('SIGKILL');
      expect((await holder.exited).signal).toBe('SIGKILL');
      expect(holder.ids.length).toBeGreaterThanOrEqual(100 * LINES);
      repeated += addAll(seen, holder.ids);
    }
    expect(repeated).toBe(0);
  });

  it('the mark is decimal Unix ms in worker-<id>.hwm beside an empty lock file', async () => {
    const dir = tempDir('cfs-id-leases');
    const lease = await api.leaseWorkerId(dir);
    const snowflake = new api.Snowflake({ workerId: lease.id });
    const held = Number(readFileSync(join(dir, 'worker-0.hwm'), 'utf8'));
    const last = snowflake.parse(snowflake.next()).timestamp;
    expect(held).toBeGreaterThan(last); // a reservation ahead of the clock
    lease.release();
    expect(readFileSync(join(dir, 'worker-0.hwm'), 'utf8')).toMatch(/^[0-9]+\n$/);
    const recorded = Number(readFileSync(join(dir, 'worker-0.hwm'), 'utf8'));
    expect(recorded).toBeGreaterThanOrEqual(last);
    expect(recorded).toBeLessThan(held);
    if (impl === 'native') expect(readFileSync(join(dir, 'worker-0.lock'), 'utf8')).toBe('');
  });
});

describe('native only', () => {
  it('4 worker threads on one worker ID share one sequence: 200,000 distinct IDs', async () => {
    const run = await runFixture('ids-threads.cjs', ['native', '4', '50000']);
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({ total: 200_000, distinct: 200_000, increasing: true });
  });

  it('a worker ID locked by another program (flock, as py-filelock does) is skipped', async () => {
    const api = load('native');
    const dir = tempDir('cfs-id-leases');
    const first = [await api.leaseWorkerId(dir), await api.leaseWorkerId(dir), await api.leaseWorkerId(dir)];
    const script = [
      'import fcntl, os, sys',
      `fd = os.open(${JSON.stringify(join(dir, 'worker-3.lock'))}, os.O_RDWR | os.O_CREAT)`,
      'fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)',
      'print("locked", flush=True)',
      'sys.stdin.read()',
    ].join('\n');
    const python = start(['python3', '-c', script]);
    expect(await python.nextLine()).toBe('locked');
    const next = await api.leaseWorkerId(dir);
    expect(first.map((lease) => lease.id)).toEqual([0, 1, 2]);
    expect(next.id).toBe(4);
    for (const lease of [...first, next]) lease.release();
    python.process.stdin.end();
  });
});
