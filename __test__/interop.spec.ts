// Locks that other tools honour (docs/interop.md): a FileLock is an flock(2) lock on the
// lock file, so util-linux flock(1) and py-filelock's FileLock exclude ours and ours
// exclude theirs, exclusive and shared, through real processes. The pure-JS fallback
// cannot take an flock, but sees theirs in /proc/locks (Linux), so it defers to them;
// they do not see its marker (docs/fallback.md). If the lock's mechanism ever changes
// (to fcntl/OFD record locks, say, which flock users do not see), these go red.
import { existsSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { describeWith, FLOCK_MISSING, flockHolder, flockTry, pyFilelock, runPython, startPython } from './helpers/foreign';
import { IMPLEMENTATIONS, load } from './helpers/impls';
import { type Child, run, start, startFixture } from './helpers/spawn';
import { tempDir } from './helpers/tmp';

const native = load('native');

/** A fresh, existing (empty) lock file. */
function lockFile(name = 'x.lock'): string {
  const path = join(tempDir('interop'), name);
  writeFileSync(path, '');
  return path;
}

/** Lets a foreign holder go and waits for it to have exited. */
async function release(holder: Child): Promise<void> {
  holder.send('go');
  await holder.exited;
}

/** SIGKILLing `holder` (a foreign program holding `path`) frees the lock at once: our parked waiter gets it. */
async function expectKillHandsOver(cfs: ReturnType<typeof load>, path: string, holder: Child): Promise<void> {
  const waiter = new cfs.FileLock(path);
  expect(waiter.tryAcquire()).toBe(false);
  const got = waiter.acquire({ timeout: 20_000 });
  holder.process.kill('SIGKILL');
  await got;
  expect(waiter.isLocked).toBe(true);
  waiter.release();
}

function startWaiter(impl: string, path: string, timeoutMs: number): Child {
  return startFixture('lock-waiter.cjs', [impl, path, timeoutMs]);
}

describeWith(FLOCK_MISSING, 'util-linux flock(1)', () => {
  for (const impl of IMPLEMENTATIONS) {
    const cfs = load(impl);

    it(`${impl}: an exclusive flock(1) holder excludes our exclusive and shared locks; our waiter gets the lock once flock(1) lets go`, async () => {
      const path = lockFile();
      const holder = await flockHolder(path);
      expect(new cfs.FileLock(path).tryAcquire()).toBe(false);
      expect(new cfs.FileLock(path, { shared: true }).tryAcquire()).toBe(false);
      const waiter = new cfs.FileLock(path);
      const got = waiter.acquire({ timeout: 20_000 });
      await release(holder);
      await got;
      expect(waiter.isLocked).toBe(true);
      waiter.release();
    });

    it(`${impl}: a shared flock(1) holder admits our shared lock and excludes our exclusive one`, async () => {
      const path = lockFile();
      const holder = await flockHolder(path, { shared: true });
      expect(new cfs.FileLock(path).tryAcquire()).toBe(false);
      const reader = new cfs.FileLock(path, { shared: true });
      expect(reader.tryAcquire()).toBe(true);
      reader.release();
      await release(holder);
      const writer = new cfs.FileLock(path);
      expect(writer.tryAcquire()).toBe(true);
      writer.release();
    });

    it(`${impl}: a SIGKILLed flock(1) holder frees the lock at once: our parked waiter gets it`, async () => {
      const path = lockFile();
      // -o: flock(1)'s own descriptor alone holds the lock; its command (sh) lives on.
      await expectKillHandsOver(cfs, path, await flockHolder(path, { close: true }));
    });
  }

  it('native: our exclusive lock makes flock -n fail, exclusive and shared; a waiting flock(1) gets it when we release', async () => {
    const path = lockFile();
    const lock = new native.FileLock(path);
    lock.acquireSync();
    expect(await flockTry(path)).toBe(1);
    expect(await flockTry(path, true)).toBe(1);
    const waiting = start(['flock', '-x', path, 'sh', '-c', 'echo locked']);
    lock.release();
    expect(await waiting.nextLine()).toBe('locked');
    expect((await waiting.exited).code).toBe(0);
  });

  it('native: our shared lock admits flock -s and excludes flock -x', async () => {
    const path = lockFile();
    const lock = new native.FileLock(path, { shared: true });
    lock.acquireSync();
    expect(await flockTry(path, true)).toBe(0);
    expect(await flockTry(path)).toBe(1);
    lock.release();
    expect(await flockTry(path)).toBe(0);
  });

  it('native: the CLI lock and flock(1) exclude each other in both directions', async () => {
    const path = lockFile();
    const holder = await flockHolder(path);
    const cli = join(__dirname, '..', 'dist', 'cli.js');
    const blocked = await runNodeCli(cli, ['lock', '-n', path, '--', 'true']);
    expect(blocked).toBe(75);
    await release(holder);
    expect(await runNodeCli(cli, ['lock', '-n', path, '--', 'flock', '-n', path, 'true'])).toBe(1);
  });

  for (const impl of IMPLEMENTATIONS) {
    it(`the inode rule: flock(1) holds a lock file that is then deleted; a ${impl} newcomer gets the new file, and a native waiter parked on the old inode does not get the old one`, async () => {
      const path = lockFile();
      const holder = await flockHolder(path);
      const oldIno = statSync(path).ino;
      const waiter = startWaiter('native', path, 2000);
      expect(await waiter.nextLine()).toBe('parked');

      unlinkSync(path); // a cleanup job, by hand, store.delete ...
      const newcomer = new (load(impl).FileLock)(path);
      expect(newcomer.tryAcquire()).toBe(true);
      expect(statSync(path).ino).not.toBe(oldIno);

      // The old inode is free now. The waiter wakes, takes it, sees it is no longer the
      // file at the path and waits on the new file, which the newcomer holds: it must
      // time out, not report the old file's lock as held.
      await release(holder);
      expect(await waiter.nextLine()).toBe('timeout');
      newcomer.release();
    });
  }
});

/** Runs the CLI; resolves with its exit status. */
async function runNodeCli(cli: string, args: string[]): Promise<number | null> {
  return (await run([process.execPath, cli, ...args])).code;
}

const python = pyFilelock();

describeWith('missing' in python ? python.missing : undefined, 'py-filelock FileLock (fcntl.flock)', () => {
  async function pyHolder(path: string): Promise<Child> {
    const holder = startPython(['hold', path]);
    expect(await holder.nextLine()).toBe('locked');
    return holder;
  }

  it('is the version docs/interop.md describes, and keeps its lock file on release (Unix)', async () => {
    expect((await runPython(['version'])).stdout.trim()).toBe('4.3.1');
    const path = lockFile();
    const holder = await pyHolder(path);
    holder.send('go');
    expect(await holder.nextLine()).toBe('released exists=1');
  });

  for (const impl of IMPLEMENTATIONS) {
    const cfs = load(impl);

    it(`${impl}: a py-filelock holder excludes our exclusive and shared locks; our waiter gets the lock once it releases`, async () => {
      const path = lockFile();
      const holder = await pyHolder(path);
      expect(new cfs.FileLock(path).tryAcquire()).toBe(false);
      expect(new cfs.FileLock(path, { shared: true }).tryAcquire()).toBe(false);
      const waiter = new cfs.FileLock(path, { shared: true });
      const got = waiter.acquire({ timeout: 20_000 });
      holder.send('go');
      expect(await holder.nextLine()).toBe('released exists=1');
      await got;
      expect(waiter.isLocked).toBe(true);
      waiter.release();
    });

    it(`${impl}: a SIGKILLed py-filelock holder frees the lock at once: our parked waiter gets it`, async () => {
      const path = lockFile();
      await expectKillHandsOver(cfs, path, await pyHolder(path));
    });

    it(`${impl}: a Python process holding dir/worker-3.lock with py-filelock makes leaseWorkerId(dir) skip ID 3`, async () => {
      const dir = join(tempDir('interop'), 'workers');
      mkdirSync(dir);
      const ours = [await cfs.leaseWorkerId(dir), await cfs.leaseWorkerId(dir), await cfs.leaseWorkerId(dir)];
      expect(ours.map((lease) => lease.id)).toEqual([0, 1, 2]);
      const holder = await pyHolder(join(dir, 'worker-3.lock'));
      const next = await cfs.leaseWorkerId(dir);
      expect(next.id).toBe(4);
      holder.process.kill('SIGKILL');
      await holder.exited;
      const freed = await cfs.leaseWorkerId(dir);
      expect(freed.id).toBe(3);
      for (const lease of [...ours, next, freed]) lease.release();
      // What another language reads back: worker-<id>.hwm is decimal Unix ms and a newline.
      expect(readFileSync(join(dir, 'worker-4.hwm'), 'utf8')).toMatch(/^[0-9]{13}\n$/);
    });
  }

  it('native: our exclusive and our shared lock each make py-filelock time out; a waiting py-filelock gets the lock when we release', async () => {
    for (const shared of [false, true]) {
      const path = lockFile();
      const lock = new native.FileLock(path, { shared });
      lock.acquireSync();
      // py-filelock's FileLock is exclusive only, so even our shared lock excludes it.
      expect((await runPython(['try', path])).code).toBe(3);
      const waiting = startPython(['wait', path, '20']);
      expect(await waiting.nextLine()).toBe('waiting');
      expect((await runPython(['try', path])).code).toBe(3); // still ours while it waits
      lock.release();
      expect(await waiting.nextLine()).toBe('locked');
      waiting.send('go');
      expect((await waiting.exited).code).toBe(0);
      expect(existsSync(path)).toBe(true);
    }
  });
});
