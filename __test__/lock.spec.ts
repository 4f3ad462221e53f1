import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Worker as Thread } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { IMPLEMENTATIONS, load } from './helpers/impls';
import { ROOT, start, startNode } from './helpers/spawn';
import { tempDir } from './helpers/tmp';
import { allSucceed, type Impl, startTogether, startWorker } from './helpers/worker';

async function counterRun(impl: Impl, mode: 'locked' | 'unlocked', processes: number, iterations: number): Promise<number> {
  const path = join(tempDir(), 'counter.json');
  writeFileSync(path, JSON.stringify({ n: 0 }));
  const workers = await startTogether(processes, () => startWorker(impl, 'counter', path, iterations, mode));
  await allSucceed(workers);
  return JSON.parse(readFileSync(path, 'utf8')).n;
}

describe.each(IMPLEMENTATIONS)('locks (%s)', (impl) => {
  const cfs = load(impl);

  it('4 processes x 500 locked read-increment-write of a JSON counter: exactly 2000', async () => {
    expect(await counterRun(impl, 'locked', 4, 500)).toBe(2000);
  });

  it('the same loop without the lock loses updates (the test can see a failure)', async () => {
    expect(await counterRun(impl, 'unlocked', 4, 500)).toBeLessThan(2000);
  });

  it('two FileLock objects on one path exclude each other; one object is reentrant', async () => {
    const path = join(tempDir(), 'a.lock');
    const a = new cfs.FileLock(path);
    const b = new cfs.FileLock(path);
    expect(a.tryAcquire()).toBe(true);
    expect(b.tryAcquire()).toBe(false);
    await a.acquire();
    a.acquireSync();
    expect(a.isLocked).toBe(true);
    a.release();
    a.release();
    expect(b.tryAcquire()).toBe(false);
    a.release();
    expect(a.isLocked).toBe(false);
    expect(b.tryAcquire()).toBe(true);
    expect(existsSync(path)).toBe(true);
    b.release();
  });

  it('release of an unheld lock throws', () => {
    const lock = new cfs.FileLock(join(tempDir(), 'a.lock'));
    expect(() => lock.release()).toThrow(expect.objectContaining({ code: 'ENOTACQUIRED' }));
  });

  it('timeout 0 fails at once; a 200 ms timeout fails in 200-400 ms', async () => {
    const path = join(tempDir(), 'a.lock');
    const holder = new cfs.FileLock(path);
    holder.acquireSync();
    const waiter = new cfs.FileLock(path);
    await expect(waiter.acquire({ timeout: 0 })).rejects.toMatchObject({
      name: 'LockTimeoutError',
      code: 'ELOCKTIMEOUT',
      path,
      timeout: 0,
    });
    expect(() => waiter.acquireSync({ timeout: 0 })).toThrow(cfs.LockTimeoutError);
    const start = performance.now();
    await expect(waiter.acquire({ timeout: 200 })).rejects.toBeInstanceOf(cfs.LockTimeoutError);
    const waited = performance.now() - start;
    expect(waited).toBeGreaterThanOrEqual(199);
    expect(waited).toBeLessThan(400);
    holder.release();
  });

  it('an abort rejects with AbortError carrying the reason, and the lock is not taken', async () => {
    const path = join(tempDir(), 'a.lock');
    const holder = new cfs.FileLock(path);
    holder.acquireSync();
    const waiter = new cfs.FileLock(path);
    const controller = new AbortController();
    const pending = waiter.acquire({ signal: controller.signal });
    setTimeout(() => controller.abort('enough'), 20);
    await expect(pending).rejects.toMatchObject({ name: 'AbortError', code: 'ABORT_ERR', cause: 'enough' });
    expect(waiter.isLocked).toBe(false);
    await expect(waiter.acquire({ signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
    holder.release();
    expect(waiter.tryAcquire()).toBe(true);
    waiter.release();
  });

  it('withLock releases on return and on throw', async () => {
    const path = join(tempDir(), 'a.lock');
    expect(await cfs.withLock(path, () => 42)).toBe(42);
    await expect(
      cfs.withLock(path, async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const probe = new cfs.FileLock(path);
    expect(probe.tryAcquire()).toBe(true);
    probe.release();
  });

  it('Symbol.dispose and Symbol.asyncDispose release', async () => {
    const path = join(tempDir(), 'a.lock');
    const lock = await new cfs.FileLock(path).acquire();
    lock[Symbol.dispose]();
    expect(lock.isLocked).toBe(false);
    await lock.acquire();
    await lock[Symbol.asyncDispose]();
    expect(new cfs.FileLock(path).tryAcquire()).toBe(true);
  });

  it('waiting keeps the event loop turning: a 10 ms interval fires while a lock is awaited 500 ms', async () => {
    const path = join(tempDir(), 'a.lock');
    const holder = new cfs.FileLock(path);
    holder.acquireSync();
    let ticks = 0;
    const interval = setInterval(() => ticks++, 10);
    await expect(new cfs.FileLock(path).acquire({ timeout: 500 })).rejects.toBeInstanceOf(cfs.LockTimeoutError);
    clearInterval(interval);
    expect(ticks).toBeGreaterThanOrEqual(25);
    holder.release();
  });

  it('8 waiting acquires do not park the threadpool: fs.promises still completes', async () => {
    const dir = tempDir();
    const holders = Array.from({ length: 8 }, (_, i) => new cfs.FileLock(join(dir, `${i}.lock`)).acquireSync());
    const waits = holders.map((h) => new cfs.FileLock(h.path).acquire());
    const probe = join(dir, 'probe.txt');
    writeFileSync(probe, 'still works');
    // With the 4 threadpool threads parked, this would never resolve.
    for (let i = 0; i < 8; i++) expect(await readFile(probe, 'utf8')).toBe('still works');
    for (const h of holders) h.release();
    const acquired = await Promise.all(waits);
    for (const lock of acquired) lock.release();
  });

  it('a lock holder spawns a long-running child, then releases: another process acquires at once', async () => {
    const path = join(tempDir(), 'a.lock');
    const lock = new cfs.FileLock(path);
    lock.acquireSync();
    const child = start(['sleep', '30']).process;
    try {
      lock.release();
      const probe = startWorker(impl, 'try-lock', path);
      expect(await probe.line()).toBe('true');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('lockMany takes all locks in one order (by inode) and releases them in reverse', async () => {
    const dir = tempDir();
    const paths = ['c.lock', 'a.lock', 'b.lock'].map((n) => join(dir, n));
    const set = await cfs.lockMany(paths);
    const inode = (p: string) => statSync(p, { bigint: true }).ino;
    expect(set.paths).toEqual([...paths].sort((a, b) => (inode(a) < inode(b) ? -1 : 1)));
    for (const p of paths) expect(new cfs.FileLock(p).tryAcquire()).toBe(false);
    set.release();
    for (const p of paths) {
      const probe = new cfs.FileLock(p);
      expect(probe.tryAcquire()).toBe(true);
      probe.release();
    }
  });

  it('lockMany is all or nothing on timeout', async () => {
    const dir = tempDir();
    const [a, b] = [join(dir, 'a.lock'), join(dir, 'b.lock')];
    const holder = new cfs.FileLock(b);
    holder.acquireSync();
    await expect(cfs.lockMany([a, b], { timeout: 50 })).rejects.toMatchObject({ code: 'ELOCKTIMEOUT', path: b });
    const probe = new cfs.FileLock(a);
    expect(probe.tryAcquire()).toBe(true);
    probe.release();
    holder.release();
  });

  it('rejects bad arguments with Node codes', () => {
    const path = join(tempDir(), 'a.lock');
    const make =
      (...args: unknown[]) =>
      () =>
        new (cfs.FileLock as new (...a: unknown[]) => unknown)(...args);
    expect(make(`${path}\0`)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(make(7)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(make(path, { timeout: -1 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(make(path, { shared: 'yes' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(existsSync(path)).toBe(false);
  });
});

describe('native locks', () => {
  const cfs = load('native');

  it('the holder is SIGKILLed: another process gets the lock within 100 ms', async () => {
    const path = join(tempDir(), 'a.lock');
    const holder = startWorker('native', 'hold-lock', path, 'exclusive');
    await holder.line((l) => l === 'locked');
    const waiter = new cfs.FileLock(path);
    expect(waiter.tryAcquire()).toBe(false);
    const wait = waiter.acquire({ timeout: 5000 });
    const killedAt = performance.now();
    holder.process.kill('SIGKILL');
    await wait;
    const handover = performance.now() - killedAt;
    console.log(`lock free ${handover.toFixed(1)} ms after SIGKILL of its holder`);
    expect(handover).toBeLessThan(100);
    waiter.release();
  });

  it('shared locks coexist across processes; an exclusive one waits for all of them', async () => {
    const path = join(tempDir(), 'a.lock');
    const reader = startWorker('native', 'hold-lock', path, 'shared');
    await reader.line((l) => l === 'locked');
    const mine = new cfs.FileLock(path, { shared: true });
    expect(mine.tryAcquire()).toBe(true);
    const writer = new cfs.FileLock(path);
    expect(writer.tryAcquire()).toBe(false);
    const wait = writer.acquire();
    mine.release();
    expect(writer.isLocked).toBe(false);
    reader.process.stdin.end();
    await reader.exited;
    await wait;
    expect(writer.isLocked).toBe(true);
    writer.release();
  });

  it('a worker thread and the main thread exclude each other', async () => {
    const path = join(tempDir(), 'a.lock');
    const main = new cfs.FileLock(path);
    main.acquireSync();
    const source = `
      const { parentPort, workerData } = require('node:worker_threads');
      const { FileLock } = require(workerData.entry);
      const lock = new FileLock(workerData.path);
      parentPort.postMessage(lock.tryAcquire());
      lock.acquire().then(() => { parentPort.postMessage('acquired'); lock.release(); });
    `;
    const thread = new Thread(source, { eval: true, workerData: { path, entry: join(ROOT, 'dist', 'native.js') } });
    const messages: unknown[] = [];
    const acquired = new Promise<void>((resolve) =>
      thread.on('message', (m) => {
        messages.push(m);
        if (m === 'acquired') resolve();
        else main.release();
      }),
    );
    await acquired;
    expect(messages).toEqual([false, 'acquired']);
    await thread.terminate();
  });
});

describe.each(IMPLEMENTATIONS)('held locks and garbage collection (%s)', (impl) => {
  it('a held lock whose object is dropped stays held until the process exits', async () => {
    const path = join(tempDir(), 'a.lock');
    const entry = join(ROOT, 'dist', impl === 'js' ? 'js.js' : 'native.js');
    // The child drops its only reference to a held lock and forces collections.
    const script = `
      const { FileLock } = require(${JSON.stringify(entry)});
      new FileLock(${JSON.stringify(path)}).acquireSync();
      for (let i = 0; i < 5; i++) { global.gc(); new Array(1e6).fill(i); }
      setImmediate(() => { global.gc(); process.stdout.write('collected\\n'); });
      process.stdin.resume();
      process.stdin.on('end', () => process.exit(0));
    `;
    const child = startNode(script, {}, ['--expose-gc']);
    expect(await child.nextLine()).toBe('collected');
    const probe = new (load(impl).FileLock)(path);
    expect(probe.tryAcquire()).toBe(false);
    child.process.stdin.end();
    await child.exited;
    expect(probe.tryAcquire()).toBe(true);
    probe.release();
  });
});
