// Locks at the edges (issue 11): deleted lock files, native and fallback processes on one
// path, aliases in lockMany, one object used concurrently, nested withLock, lock paths
// that are not regular files. Counted with real processes where the claim is about them.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IMPLEMENTATIONS, load } from './helpers/impls';
import { ROOT, runSync } from './helpers/spawn';
import { tempDir } from './helpers/tmp';
import { allSucceed, type Impl, startTogether, startWorker } from './helpers/worker';

const LINUX = process.platform === 'linux';

/** A fresh `dir/a.lock` and `alias`, a symlink to it: two spellings of one lock file. */
function aliasedLock(): { dir: string; path: string; alias: string } {
  const dir = tempDir();
  const alias = join(dir, 'alias.lock');
  symlinkSync('a.lock', alias);
  return { dir, path: join(dir, 'a.lock'), alias };
}
const native = load('native');
const js = load('js');

/** Runs `count` processes of `exclusive-count` and returns the final counter. */
async function countTogether(impls: Impl[], rounds: number, deleteEvery: number): Promise<number> {
  const dir = tempDir();
  const lock = join(dir, 'data.lock');
  const counter = join(dir, 'counter');
  writeFileSync(counter, '0');
  const workers = await startTogether(impls.length, (i) =>
    startWorker(impls[i] as Impl, 'exclusive-count', lock, counter, rounds, deleteEvery),
  );
  await allSucceed(workers);
  return Number(readFileSync(counter, 'utf8'));
}

describe.each(IMPLEMENTATIONS)('%s: a lock file deleted under its holders', (impl) => {
  it('a holder deleting its lock file (as store.delete does) never lets two holders in', async () => {
    // Before: native waiters parked on the deleted inode took the lock beside newcomers.
    expect(await countTogether([impl, impl, impl, impl], 150, 3)).toBe(600);
  });
});

describe.runIf(LINUX)('native and fallback processes on one lock file', () => {
  it('exclude each other: 2 native + 2 fallback processes, exact count, never two inside', async () => {
    // Before: native flocked the fallback's marker file, so both held at once.
    expect(await countTogether(['native', 'js', 'native', 'js'], 150, 0)).toBe(600);
  });

  it('exclude each other while holders delete the lock file', async () => {
    expect(await countTogether(['native', 'js', 'native', 'js'], 100, 4)).toBe(400);
  });

  it('in one process: each side sees the other, exclusive and shared', () => {
    const path = join(tempDir(), 'a.lock');
    const n = new native.FileLock(path);
    const j = new js.FileLock(path);
    expect(n.tryAcquire()).toBe(true);
    expect(j.tryAcquire()).toBe(false);
    n.release();
    expect(j.tryAcquire()).toBe(true);
    expect(n.tryAcquire()).toBe(false);
    j.release();

    const nativeReader = new native.FileLock(path, { shared: true });
    const jsReader = new js.FileLock(path, { shared: true });
    expect(nativeReader.tryAcquire()).toBe(true);
    expect(jsReader.tryAcquire()).toBe(true);
    expect(new native.FileLock(path).tryAcquire()).toBe(false);
    expect(new js.FileLock(path).tryAcquire()).toBe(false);
    nativeReader.release();
    jsReader.release();
    expect(n.tryAcquire()).toBe(true);
    n.release();
  });

  it('a lock file name too long for a plain marker name: both sides use the same hashed marker', () => {
    const dir = tempDir();
    const path = join(dir, `${'c'.repeat(245)}.lock`);
    const j = new js.FileLock(path);
    expect(j.tryAcquire()).toBe(true);
    expect(new native.FileLock(path).tryAcquire()).toBe(false);
    j.release();
    expect(new native.FileLock(path).tryAcquire()).toBe(true);
  });

  it('a native waiter is woken when a fallback holder releases', async () => {
    const path = join(tempDir(), 'a.lock');
    const j = new js.FileLock(path);
    j.acquireSync();
    const waiting = new native.FileLock(path).acquire({ timeout: 30_000 });
    // Released from this process: the native waiter must see the marker go.
    j.release();
    const got = await waiting;
    expect(got.isLocked).toBe(true);
    got.release();
  });

  it('worker-ID leases: live native and fallback holders never share an ID', async () => {
    // Before: three live processes leased worker ID 0 at once.
    const dir = tempDir();
    const impls: Impl[] = ['native', 'js', 'native', 'js', 'native', 'js'];
    const ids: number[] = [];
    const workers = [];
    for (const impl of impls) {
      const worker = startWorker(impl, 'lease-hold', dir);
      workers.push(worker);
      ids.push(Number(await worker.line()));
    }
    expect(new Set(ids).size).toBe(impls.length);
    for (const w of workers) w.process.stdin.end();
    await allSucceed(workers);
  });
});

describe.each(IMPLEMENTATIONS)('%s: lock paths that are not lock files', (impl) => {
  it('a FIFO fails at once with EINVAL, without blocking (checked in a child with a time limit)', () => {
    const dir = tempDir();
    const fifo = join(dir, 'a.lock');
    execFileSync('mkfifo', [fifo]);
    const script = `
      const cfs = require(${JSON.stringify(join(ROOT, 'dist', `${impl}.js`))});
      const codes = [];
      try { new cfs.FileLock(process.env.P).tryAcquire(); } catch (e) { codes.push(e.code); }
      cfs.withLock(process.env.P, () => {}).catch((e) => { codes.push(e.code); console.log(codes.join(' ')); });`;
    const run = runSync([process.execPath, '-e', script], { env: { P: fifo }, timeout: 20_000 });
    expect(run.signal).toBe(null);
    expect(run.stdout.trim()).toBe('EINVAL EINVAL');
  });
});

describe.each(IMPLEMENTATIONS)('%s: lockMany identifies lock files by the file', (impl) => {
  const cfs = load(impl);

  it('two spellings of one lock file are one lock (no waiting on itself)', async () => {
    const { dir, path: real, alias } = aliasedLock();
    // Before: the second spelling waited for the first (here: a timeout).
    const set = await cfs.lockMany([real, alias, join(dir, '.', 'a.lock')], { timeout: 2000 });
    expect(set.paths).toEqual([real]);
    expect(new cfs.FileLock(real).tryAcquire()).toBe(false);
    set.release();
    expect(new cfs.FileLock(real).tryAcquire()).toBe(true);
  });

  it('callers using different aliases take the locks in one order and never deadlock', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'links'));
    const [x, y] = [join(dir, 'x.lock'), join(dir, 'y.lock')];
    symlinkSync(x, join(dir, 'links', 'x.lock'));
    symlinkSync(y, join(dir, 'links', 'y.lock'));
    let rounds = 0;
    const caller = async (paths: string[]) => {
      for (let i = 0; i < 40; i++) {
        const set = await cfs.lockMany(paths, { timeout: 20_000 });
        rounds++;
        await new Promise((resolve) => setImmediate(resolve));
        set.release();
      }
    };
    await Promise.all([caller([x, join(dir, 'links', 'y.lock')]), caller([y, join(dir, 'links', 'x.lock')])]);
    expect(rounds).toBe(80);
  });
});

describe.each(IMPLEMENTATIONS)('%s: one FileLock used concurrently', (impl) => {
  const cfs = load(impl);

  function heldElsewhere() {
    const path = join(tempDir(), 'a.lock');
    const holder = new cfs.FileLock(path);
    holder.acquireSync();
    return { path, holder, lock: new cfs.FileLock(path) };
  }

  type Lock = ReturnType<typeof heldElsewhere>['lock'];

  /** The other holder releases: the pending first acquire gets the lock, and one release frees it. */
  async function expectHandOverThenFree(holder: Lock, first: Promise<unknown>, lock: Lock): Promise<void> {
    holder.release();
    await first;
    lock.release();
    expect(lock.isLocked).toBe(false);
  }

  it('a second acquire honours its own timeout while the first waits', async () => {
    const { holder, lock } = heldElsewhere();
    let firstSettled = false;
    const first = lock.acquire().finally(() => {
      firstSettled = true;
    });
    // Before: timeout 0 waited for the first acquire (seconds), then timed out.
    await expect(lock.acquire({ timeout: 0 })).rejects.toMatchObject({ code: 'ELOCKTIMEOUT' });
    await expect(lock.acquire({ timeout: 20 })).rejects.toMatchObject({ code: 'ELOCKTIMEOUT' });
    expect(firstSettled).toBe(false);
    await expectHandOverThenFree(holder, first, lock);
  });

  it('a second acquire honours its own signal and never resolves as acquired once aborted', async () => {
    const { holder, lock } = heldElsewhere();
    const first = lock.acquire();
    const controller = new AbortController();
    const second = lock.acquire({ signal: controller.signal });
    controller.abort(new Error('stop'));
    await expect(second).rejects.toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' });
    await expectHandOverThenFree(holder, first, lock); // only the first acquire counts
  });

  it('a second acquire joining a pending one gets the lock when it does, counted', async () => {
    const { holder, lock } = heldElsewhere();
    const both = Promise.all([lock.acquire(), lock.acquire({ timeout: 30_000 })]);
    holder.release();
    await both;
    lock.release();
    expect(lock.isLocked).toBe(true);
    lock.release();
    expect(lock.isLocked).toBe(false);
  });

  it('acquireSync and tryAcquire while an acquire is pending throw ERR_INVALID_STATE', async () => {
    const { holder, lock } = heldElsewhere();
    const pending = lock.acquire();
    // Before (native): acquireSync deadlocked the thread.
    expect(() => lock.acquireSync({ timeout: 100 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_STATE' }));
    expect(() => lock.tryAcquire()).toThrow(expect.objectContaining({ code: 'ERR_INVALID_STATE' }));
    holder.release();
    await pending;
    lock.release();
  });
});

describe.each(IMPLEMENTATIONS)('%s: nested withLock in one async context', (impl) => {
  const cfs = load(impl);

  it('re-enters instead of waiting for itself, through any alias and any await', async () => {
    const { dir, path, alias } = aliasedLock();
    const order: string[] = [];
    // Before: the inner withLock waited forever (here: a timeout).
    await cfs.withLock(path, async () => {
      await new Promise((resolve) => setImmediate(resolve));
      await cfs.withLock(
        alias,
        async () => {
          order.push('inner');
          await cfs.withLock(path, () => order.push('innermost'), { shared: true, timeout: 1000 });
        },
        { timeout: 1000 },
      );
      const set = await cfs.lockMany([path, join(dir, 'b.lock')], { timeout: 1000 });
      order.push('lockMany');
      set.release();
      expect(new cfs.FileLock(path).tryAcquire()).toBe(false);
    });
    expect(order).toEqual(['inner', 'innermost', 'lockMany']);
    const probe = new cfs.FileLock(path);
    expect(probe.tryAcquire()).toBe(true);
    probe.release();
  });

  it('re-enters through an alias after the lock file was deleted and recreated during the hold (its inode changed)', async () => {
    const { path, alias } = aliasedLock();
    // Before: the identity taken at entry no longer matched the alias, and the path
    // matched only as text; the fallback's inner withLock waited for its own marker
    // (seen once in CI as a 30 s timeout in the lifecycle checker).
    const inner = await cfs.withLock(path, async () => {
      rmSync(path);
      writeFileSync(path, ''); // as another process's open of a deleted lock file does
      return cfs.withLock(alias, () => 'inner', { timeout: 1000 });
    });
    expect(inner).toBe('inner');
  });

  it('another object waiting for a lock its own context holds fails at once with EDEADLK', async () => {
    const path = join(tempDir(), 'a.lock');
    await cfs.withLock(path, async () => {
      const other = new cfs.FileLock(path);
      await expect(other.acquire()).rejects.toMatchObject({ code: 'EDEADLK', path });
      expect(() => other.acquireSync()).toThrow(expect.objectContaining({ code: 'EDEADLK' }));
    });
    await cfs.withLock(
      path,
      async () => {
        await expect(cfs.withLock(path, () => 1)).rejects.toMatchObject({ code: 'EDEADLK' });
        expect(await cfs.withLock(path, () => 2, { shared: true })).toBe(2);
      },
      { shared: true },
    );
  });

  it('unrelated async contexts still wait for each other', async () => {
    const path = join(tempDir(), 'a.lock');
    const events: string[] = [];
    let releaseFirst: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      releaseFirst = resolve;
    });
    const first = cfs.withLock(path, async () => {
      events.push('first in');
      await gate;
      events.push('first out');
    });
    await new Promise((resolve) => setImmediate(resolve));
    const second = cfs.withLock(path, () => events.push('second in'));
    await new Promise((resolve) => setImmediate(resolve));
    releaseFirst();
    await Promise.all([first, second]);
    expect(events).toEqual(['first in', 'first out', 'second in']);
  });
});
