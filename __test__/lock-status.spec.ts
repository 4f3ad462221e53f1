// lockStatus(path): who holds a lock file now, without taking or creating it. On Linux
// from the kernel's table (/proc/locks), so any flock holder shows up with its pid, and
// from the fallback's marker beside the file (its pid and host).
import { readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeWith, FLOCK_MISSING, flockHolder } from './helpers/foreign';
import { IMPLEMENTATIONS, load } from './helpers/impls';
import { type Child, startFixture } from './helpers/spawn';
import { tempDir } from './helpers/tmp';

function lockFile(): string {
  const path = join(tempDir('status'), 'x.lock');
  writeFileSync(path, '');
  return path;
}

/** A node process holding `path` with `impl`'s FileLock until its stdin ends. */
async function holder(impl: string, path: string, kind: 'shared' | 'exclusive'): Promise<Child> {
  const child = startFixture('lock-hold.cjs', [impl, path, kind]);
  expect(await child.nextLine()).toBe('locked');
  return child;
}

async function stop(child: Child): Promise<void> {
  child.process.stdin.end();
  await child.exited;
}

const FREE = { locked: false, shared: false, holders: [] };
const byPid = (a: { pid: number }, b: { pid: number }) => a.pid - b.pid;

for (const impl of IMPLEMENTATIONS) {
  const cfs = load(impl);

  describe(`${impl}: lockStatus`, () => {
    it('a missing file is free, and is not created', async () => {
      const dir = tempDir('status');
      expect(await cfs.lockStatus(join(dir, 'x.lock'))).toEqual(FREE);
      expect(readdirSync(dir)).toEqual([]);
    });

    it('a free lock file is free, and looking leaves the directory as it was', async () => {
      const path = lockFile();
      const before = statSync(path);
      expect(await cfs.lockStatus(path)).toEqual(FREE);
      expect(readdirSync(join(path, '..'))).toEqual(['x.lock']);
      expect(statSync(path).ino).toBe(before.ino);
    });

    it('bad paths are argument errors', async () => {
      await expect(cfs.lockStatus(42 as unknown as string)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
      await expect(cfs.lockStatus('a\0b')).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    });

    it('a path through a regular file rejects with the OS error, naming the path', async () => {
      const path = join(lockFile(), 'x.lock');
      await expect(cfs.lockStatus(path)).rejects.toMatchObject({ code: 'ENOTDIR', path });
    });

    it('native holders: an exclusive one by its pid; two shared ones, both pids, shared; free again after release', async () => {
      const path = lockFile();
      const writer = await holder('native', path, 'exclusive');
      expect(await cfs.lockStatus(path)).toEqual({ locked: true, shared: false, holders: [{ pid: writer.process.pid }] });
      await stop(writer);
      const readers = [await holder('native', path, 'shared'), await holder('native', path, 'shared')];
      const status = await cfs.lockStatus(path);
      expect({ ...status, holders: status.holders.sort(byPid) }).toEqual({
        locked: true,
        shared: true,
        holders: readers.map((r) => ({ pid: r.process.pid as number })).sort(byPid),
      });
      for (const reader of readers) await stop(reader);
      expect(await cfs.lockStatus(path)).toEqual(FREE);
    });

    it("this process's own lock, and a lock held through a symlink to the file", async () => {
      const path = lockFile();
      const link = `${path}-link`;
      symlinkSync(path, link);
      const lock = new cfs.FileLock(link);
      lock.acquireSync();
      const expected = impl === 'js' ? { pid: process.pid, host: hostname() } : { pid: process.pid };
      expect(await cfs.lockStatus(path)).toEqual({ locked: true, shared: false, holders: [expected] });
      expect(await cfs.lockStatus(link)).toEqual({ locked: true, shared: false, holders: [expected] });
      lock.release();
      expect(await cfs.lockStatus(link)).toEqual(FREE);
    });

    it('fallback holders: by the pid and host in their marker, shared when they asked for shared; a SIGKILLed one is free', async () => {
      const path = lockFile();
      const writer = await holder('js', path, 'exclusive');
      const me = hostname();
      expect(await cfs.lockStatus(path)).toEqual({ locked: true, shared: false, holders: [{ pid: writer.process.pid, host: me }] });
      writer.process.kill('SIGKILL');
      await writer.exited;
      expect(await cfs.lockStatus(path)).toEqual(FREE); // its marker is left behind, but names a dead process
      const reader = await holder('js', path, 'shared');
      expect(await cfs.lockStatus(path)).toEqual({ locked: true, shared: true, holders: [{ pid: reader.process.pid, host: me }] });
      // A native reader beside the fallback reader: both hold, shared.
      const nativeReader = await holder('native', path, 'shared');
      const both = await cfs.lockStatus(path);
      expect({ ...both, holders: both.holders.sort(byPid) }).toEqual({
        locked: true,
        shared: true,
        holders: [{ pid: reader.process.pid as number, host: me }, { pid: nativeReader.process.pid as number }].sort(byPid),
      });
      await stop(nativeReader);
      await stop(reader);
      expect(await cfs.lockStatus(path)).toEqual(FREE);
    });
  });
}

describeWith(FLOCK_MISSING, 'lockStatus sees flock(1) holders', () => {
  for (const impl of IMPLEMENTATIONS) {
    const cfs = load(impl);

    it(`${impl}: an exclusive flock(1) holder by its pid; shared flock(1) holders, each by its pid`, async () => {
      const path = lockFile();
      const writer = await flockHolder(path);
      expect(await cfs.lockStatus(path)).toEqual({ locked: true, shared: false, holders: [{ pid: writer.process.pid }] });
      writer.send('go');
      await writer.exited;
      const readers = [await flockHolder(path, { shared: true }), await flockHolder(path, { shared: true })];
      const status = await cfs.lockStatus(path);
      expect({ ...status, holders: status.holders.sort(byPid) }).toEqual({
        locked: true,
        shared: true,
        holders: readers.map((r) => ({ pid: r.process.pid as number })).sort(byPid),
      });
      for (const reader of readers) {
        reader.send('go');
        await reader.exited;
      }
      expect(await cfs.lockStatus(path)).toEqual(FREE);
    });

    it(`${impl}: a fallback process waiting behind a flock(1) holder is not reported as a holder`, async () => {
      const path = lockFile();
      const writer = await flockHolder(path);
      // The waiting fallback process keeps a marker up for a while (its reserved turn).
      const waiter = startFixture('lock-waiter.cjs', ['js', path, 20000]);
      expect(await waiter.nextLine()).toBe('parked');
      expect(await cfs.lockStatus(path)).toEqual({ locked: true, shared: false, holders: [{ pid: writer.process.pid }] });
      writer.send('go');
      await writer.exited;
      expect(await waiter.nextLine()).toMatch(/^locked /);
      expect(await cfs.lockStatus(path)).toEqual({ locked: true, shared: false, holders: [{ pid: waiter.process.pid, host: hostname() }] });
      waiter.process.stdin.end();
      await waiter.exited;
    });
  }
});
