// The uncontended lock cycle keeps each FileLock's descriptor open between holds and
// releases without a close unless a waiter announced itself (core: lock/mod.rs,
// "Releasing"). What users depend on: a waiter in another process is still woken at
// once, the kept descriptor goes away at dispose and with the object, and no child
// process ever inherits it. Linux: the descriptors are read from /proc.
import { readdirSync, readFileSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { load } from './helpers/impls';
import { start, startNode } from './helpers/spawn';
import { tempDir } from './helpers/tmp';
import { startWorker } from './helpers/worker';

const LINUX = process.platform === 'linux';

/** How many of this process's descriptors are open on `path`. */
function descriptorsOn(path: string, pid: number | 'self' = 'self'): number {
  const real = realpathSync(path);
  let count = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`) === real) count++;
    } catch {}
  }
  return count;
}

/** Whether some process announced a wait on `path` (an OFD read lock on byte 1). */
function waiterAnnounced(path: string): boolean {
  const suffix = `:${statSync(path).ino}`;
  return readFileSync('/proc/locks', 'latin1')
    .split('\n')
    .some((line) => {
      const fields = line.trim().split(/\s+/);
      return fields[1] === 'OFDLCK' && fields[3] === 'READ' && fields[5]?.endsWith(suffix) && fields[6] === '1';
    });
}

/** Polls (no event exists for it) until `check` holds; fails after a generous deadline. */
async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

const epochMs = () => performance.timeOrigin + performance.now();

describe.runIf(LINUX)('native: releasing with and without waiters', () => {
  const cfs = load('native');

  it('without waiters the descriptor is kept; with a waiter in another process the release closes it and hands over', async () => {
    const path = join(tempDir(), 'a.lock');
    const lock = new cfs.FileLock(path);
    lock.acquireSync();
    lock.release();
    expect(descriptorsOn(path)).toBe(1);
    const waiter = startNode(
      `const { FileLock } = require('./dist/native.js');
       const lock = new FileLock(${JSON.stringify(path)});
       const readline = require('node:readline').createInterface({ input: process.stdin });
       readline.on('line', async () => {
         await lock.acquire();
         const acquiredAt = performance.timeOrigin + performance.now();
         lock.release();
         // Printed after the release: the parent's next tryAcquire must find the lock free.
         console.log(acquiredAt);
       });
       console.log('ready');`,
    );
    try {
      expect(await waiter.nextLine()).toBe('ready');
      const latencies: number[] = [];
      for (let round = 0; round < 10; round++) {
        // Without a waiter: kept.
        expect(lock.tryAcquire()).toBe(true);
        lock.release();
        expect(descriptorsOn(path)).toBe(1);
        // With one: closed, and the waiter gets the lock.
        expect(lock.tryAcquire()).toBe(true);
        waiter.send('go');
        await until(() => waiterAnnounced(path), 'the child announces its wait');
        const released = epochMs();
        lock.release();
        expect(descriptorsOn(path)).toBe(0);
        latencies.push(Number(await waiter.nextLine()) - released);
      }
      latencies.sort((a, b) => a - b);
      console.log(
        `cross-process handover after a release that found a waiter: median ${latencies[5]?.toFixed(3)} ms, max ${latencies[9]?.toFixed(3)} ms`,
      );
    } finally {
      waiter.process.stdin.end();
      await waiter.exited;
    }
    expect(lock.tryAcquire()).toBe(true);
    lock.release();
  });

  it('a waiter in this process (another object) is handed the lock, and the release closes', async () => {
    const path = join(tempDir(), 'a.lock');
    const holder = new cfs.FileLock(path).acquireSync();
    const other = new cfs.FileLock(path);
    const acquired = other.acquire();
    await until(() => waiterAnnounced(path), 'the wait is announced');
    holder.release();
    await acquired;
    expect(other.isLocked).toBe(true);
    expect(holder.tryAcquire()).toBe(false);
    other.release();
    expect(descriptorsOn(path)).toBe(2); // each object keeps its own, none waits now
    holder[Symbol.dispose]();
    other[Symbol.dispose]();
    expect(descriptorsOn(path)).toBe(0);
  });
});

describe.runIf(LINUX)('native: a descriptor kept between holds', () => {
  it('is closed by Symbol.dispose, by withLock and lockMany, and by garbage collection', async () => {
    const dir = tempDir();
    const path = join(dir, 'a.lock');
    const child = startNode(
      `const fs = require('node:fs');
       const { FileLock, withLock, lockMany } = require('./dist/native.js');
       const path = ${JSON.stringify(path)};
       const count = () => fs.readdirSync('/proc/self/fd').filter((fd) => {
         try { return fs.readlinkSync('/proc/self/fd/' + fd) === path; } catch { return false; }
       }).length;
       const collected = async () => {
         for (let i = 0; i < 100 && count() > 0; i++) { gc(); await new Promise((r) => setImmediate(r)); }
         return count();
       };
       // Outside the async function: a suspended one keeps its last locals alive.
       const dropMany = () => {
         for (let i = 0; i < 200; i++) { const dropped = new FileLock(path); dropped.tryAcquire(); dropped.release(); }
       };
       (async () => {
         const out = {};
         const lock = new FileLock(path);
         lock.acquireSync(); lock.release(); out.kept = count();
         lock[Symbol.dispose](); out.afterDispose = count();
         lock.acquireSync(); out.reopened = count(); lock[Symbol.dispose](); out.afterHeldDispose = count();
         dropMany();
         out.dropped = count();
         out.afterGc = await collected();
         await withLock(path, () => { out.insideWithLock = count(); });
         out.afterWithLock = count();
         const set = await lockMany([path, path + '2']);
         set.release();
         out.afterLockMany = count();
         console.log(JSON.stringify(out));
       })();`,
      {},
      ['--expose-gc'],
    );
    const out = JSON.parse(await child.nextLine());
    await child.exited;
    expect(out).toEqual({
      kept: 1,
      afterDispose: 0,
      reopened: 1,
      afterHeldDispose: 0,
      dropped: 200,
      afterGc: 0,
      insideWithLock: 1,
      afterWithLock: 0,
      afterLockMany: 0,
    });
  });
});

describe.runIf(LINUX)('native: children never inherit a lock', () => {
  const cfs = load('native');

  it('a spawned child has neither a held nor a kept lock file open, and a release frees the lock while it runs', async () => {
    const dir = tempDir();
    const heldPath = join(dir, 'held.lock');
    const keptPath = join(dir, 'kept.lock');
    const held = new cfs.FileLock(heldPath).acquireSync();
    const kept = new cfs.FileLock(keptPath).acquireSync();
    kept.release();
    expect(descriptorsOn(keptPath)).toBe(1);
    const child = startNode(`console.log('ready'); process.stdin.resume(); process.stdin.on('end', () => process.exit(0));`);
    try {
      expect(await child.nextLine()).toBe('ready');
      const pid = child.process.pid as number;
      expect(descriptorsOn(heldPath, pid)).toBe(0);
      expect(descriptorsOn(keptPath, pid)).toBe(0);
      held.release();
      // Another process gets both while the child still runs.
      expect(await startWorker('native', 'try-lock', heldPath).line()).toBe('true');
      expect(await startWorker('native', 'try-lock', keptPath).line()).toBe('true');
    } finally {
      child.process.stdin.end();
      await child.exited;
    }
  });

  it('a descriptor handed to a child (as `concurrent-fs lock` does) keeps the child holding after the parent releases', async () => {
    const path = join(tempDir(), 'a.lock');
    const lock = new cfs.FileLock(path).acquireSync();
    const fd = lock.descriptor() as number;
    const script = `console.log('ready'); process.stdin.resume(); process.stdin.on('end', () => process.exit(0));`;
    const child = start([process.execPath, '-e', script], { fds: [fd] });
    try {
      expect(await child.nextLine()).toBe('ready');
      lock.release();
      expect(descriptorsOn(path)).toBe(0); // released by a close: the child's copy holds on
      expect(await startWorker('native', 'try-lock', path).line()).toBe('false');
    } finally {
      child.process.stdin.end();
      await child.exited;
    }
    expect(await startWorker('native', 'try-lock', path).line()).toBe('true');
  });
});
