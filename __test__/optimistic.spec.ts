import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IMPLEMENTATIONS, load } from './helpers/impls';
import { startNode } from './helpers/spawn';
import { tempDir } from './helpers/tmp';
import { allSucceed, startTogether, startWorker } from './helpers/worker';

/** fixtures/alias-updater.cjs: says 'ready', waits for 'go', then prints 'ok <successes>'. */
function startAliasUpdater(impl: string, path: string, count: number, mode: 'optimistic' | 'cas') {
  const args = JSON.stringify([impl, path, String(count), mode]);
  // As if run as `node alias-updater.cjs ...args`.
  return startNode(`process.argv = [process.argv[0], 'alias-updater.cjs', ...${args}]; require('./__test__/fixtures/alias-updater.cjs')`);
}

/**
 * One counter file, real/counter.json, and its other names: a relative symlink, a
 * chain of two, the real name through a symlinked directory, and a link whose target
 * climbs out of a symlinked directory with `..` (which the kernel resolves physically).
 */
function aliasedCounter() {
  const root = tempDir();
  mkdirSync(join(root, 'real', 'sub'), { recursive: true });
  const real = join(root, 'real', 'counter.json');
  symlinkSync(join('real', 'counter.json'), join(root, 'file-link.json'));
  symlinkSync('file-link.json', join(root, 'chain.json'));
  symlinkSync('real', join(root, 'dir-link'));
  symlinkSync(join('real', 'sub'), join(root, 'sub-link'));
  symlinkSync(join('..', 'counter.json'), join(root, 'real', 'sub', 'up-link.json'));
  const aliases = {
    fileLink: join(root, 'file-link.json'),
    chain: join(root, 'chain.json'),
    throughDirLink: join(root, 'dir-link', 'counter.json'),
    dotDotThroughDirLink: join(root, 'sub-link', 'up-link.json'),
  };
  return { root, real, aliases };
}

describe.each(IMPLEMENTATIONS)('optimistic concurrency (%s)', (impl) => {
  const cfs = load(impl);

  it('every name of one file takes the sidecar lock of the file itself', async () => {
    const { real, aliases } = aliasedCounter();
    writeFileSync(real, '{"n":0}');
    const { version } = await cfs.readVersioned(real);
    // Held by an object of its own, not through withLock: inside a withLock callback the
    // sidecar lock would re-enter (nested use in one async context), not wait.
    const holder = new cfs.FileLock(`${real}.lock`).acquireSync();
    try {
      for (const [name, alias] of Object.entries(aliases)) {
        const attempts = [
          () => cfs.writeIfVersion(alias, '{"n":1}', version, { lockTimeout: 0 }),
          () => cfs.compareAndSwap(alias, { n: 0 }, { n: 1 }, { lockTimeout: 0 }),
          () => cfs.optimisticUpdate(alias, () => ({ n: 1 }), { lockTimeout: 0, retries: 0 }),
        ];
        for (const attempt of attempts) await expect(attempt(), name).rejects.toMatchObject({ code: 'ELOCKTIMEOUT', path: `${real}.lock` });
      }
    } finally {
      holder.release();
    }
    expect(readFileSync(real, 'utf8')).toBe('{"n":0}');
  });

  it('a dangling symlink locks the sidecar of the file it names; a link cycle is ELOOP', async () => {
    const root = tempDir();
    symlinkSync('missing.json', join(root, 'dangling.json'));
    const holder = new cfs.FileLock(join(root, 'missing.json.lock')).acquireSync();
    try {
      await expect(cfs.compareAndSwap(join(root, 'dangling.json'), undefined, 1, { lockTimeout: 0 })).rejects.toMatchObject({
        code: 'ELOCKTIMEOUT',
      });
    } finally {
      holder.release();
    }
    symlinkSync('b.json', join(root, 'a.json'));
    symlinkSync('a.json', join(root, 'b.json'));
    await expect(cfs.writeIfVersion(join(root, 'a.json'), 'x', null)).rejects.toMatchObject({ code: 'ELOOP', path: join(root, 'a.json') });
  });

  it('8 processes bump one counter through 4 names of it: the counter equals the successful updates', async () => {
    const { real, aliases } = aliasedCounter();
    const spellings = [real, real, real, real, aliases.fileLink, aliases.chain, aliases.throughDirLink, aliases.fileLink];
    const children = spellings.map((path, i) => startAliasUpdater(impl, path, 100, i % 2 === 0 ? 'optimistic' : 'cas'));
    await Promise.all(children.map((c) => c.nextLine()));
    for (const c of children) c.send('go');
    const results = await Promise.all(children.map((c) => c.exited));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const successes = results.reduce((sum, r) => sum + Number(/^ok (\d+)$/m.exec(r.stdout)![1]), 0);
    expect(successes).toBeGreaterThanOrEqual(400); // the optimistic half never gives up
    expect(JSON.parse(readFileSync(real, 'utf8'))).toEqual({ n: successes });
  });

  it('readVersioned: null for a missing file; equal bytes give equal versions', async () => {
    const dir = tempDir();
    const path = join(dir, 'doc.json');
    expect(await cfs.readVersioned(path)).toEqual({ data: null, version: null });
    writeFileSync(path, '{"a":1}');
    const first = await cfs.readVersioned(path);
    expect(first.data?.toString()).toBe('{"a":1}');
    expect(first.version).toMatch(/^[0-9a-f]{32}$/);
    writeFileSync(join(dir, 'copy.json'), '{"a":1}');
    expect((await cfs.readVersioned(join(dir, 'copy.json'))).version).toBe(first.version);
    writeFileSync(path, '{"a":2}');
    expect((await cfs.readVersioned(path)).version).not.toBe(first.version);
  });

  it('writeIfVersion writes on a match and leaves the file untouched on a conflict', async () => {
    const path = join(tempDir(), 'doc.json');
    expect(await cfs.writeIfVersion(path, 'one', null)).toBe(true);
    expect(await cfs.writeIfVersion(path, 'two', null)).toBe(false);
    const { version } = await cfs.readVersioned(path);
    writeFileSync(path, 'changed behind our back');
    expect(await cfs.writeIfVersion(path, 'three', version)).toBe(false);
    expect(readFileSync(path, 'utf8')).toBe('changed behind our back');
    const now = await cfs.readVersioned(path);
    expect(await cfs.writeIfVersion(path, 'four', now.version)).toBe(true);
    expect(readFileSync(path, 'utf8')).toBe('four');
  });

  it('compareAndSwap compares JSON values deeply; undefined means "only if absent"', async () => {
    const path = join(tempDir(), 'doc.json');
    expect(await cfs.compareAndSwap(path, undefined, { a: [1, 2] })).toBe(true);
    expect(await cfs.compareAndSwap(path, undefined, { a: 0 })).toBe(false);
    expect(await cfs.compareAndSwap(path, { a: [1, 3] }, { a: 0 })).toBe(false);
    expect(await cfs.compareAndSwap(path, { a: [1, 2] }, { b: true })).toBe(true);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ b: true });
  });

  it('compareAndSwap from 4 processes racing on one expected value: exactly one wins', async () => {
    const path = join(tempDir(), 'claim.json');
    writeFileSync(path, JSON.stringify({ owner: null }));
    const workers = await startTogether(4, (i) => startWorker(impl, 'cas', path, `p${i}`));
    await allSucceed(workers);
    const winners = workers.flatMap((w, i) => (w.lines.at(-1) === 'true' ? [`p${i}`] : []));
    expect(winners).toHaveLength(1);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ owner: winners[0] });
  });

  it('6 processes x 300 optimisticUpdate increments: exactly 1800, with conflicts retried', async () => {
    const path = join(tempDir(), 'counter.json');
    const workers = await startTogether(6, () => startWorker(impl, 'optimistic', path, 300));
    await allSucceed(workers);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ n: 1800 });
    const conflicts = workers.reduce((sum, w) => sum + (JSON.parse(w.lines.at(-1)!) as { conflicts: number }).conflicts, 0);
    console.log(`${impl}: 1800 optimistic increments from 6 processes needed ${conflicts} retries after conflicts`);
    expect(conflicts).toBeGreaterThan(0);
  });

  it('optimisticUpdate gives up with ConflictError after its retries', async () => {
    const path = join(tempDir(), 'doc.json');
    let runs = 0;
    const update = cfs.optimisticUpdate(
      path,
      (current: { n: number } | undefined) => {
        runs++;
        writeFileSync(path, JSON.stringify({ n: runs * 100 })); // someone always gets there first
        return { n: (current?.n ?? 0) + 1 };
      },
      { retries: 3, backoff: { initialDelay: 0 } },
    );
    await expect(update).rejects.toMatchObject({ name: 'ConflictError', code: 'ECONFLICT', path, attempts: 4 });
    expect(runs).toBe(4);
  });

  it('corrupt JSON is reported with the file name and never overwritten', async () => {
    const path = join(tempDir(), 'broken.json');
    writeFileSync(path, '{"half":');
    await expect(cfs.optimisticUpdate(path, () => ({ fixed: true }))).rejects.toMatchObject({ name: 'CorruptFileError', path });
    await expect(cfs.compareAndSwap(path, undefined, 1)).resolves.toBe(false);
    await expect(cfs.compareAndSwap(path, { half: 1 }, 1)).rejects.toThrow(path);
    expect(readFileSync(path, 'utf8')).toBe('{"half":');
  });

  it('lockMany with overlapping sets in opposite orders from 4 processes x 200 rounds: no deadlock, exact counts', async () => {
    const dir = tempDir();
    const sets = ['a,b', 'b,a', 'b,c', 'c,a,b'];
    const workers = await startTogether(4, (i) => startWorker(impl, 'lock-many', dir, 200, sets[i]!));
    await allSucceed(workers);
    const count = (n: string) => Number(readFileSync(join(dir, `${n}.count`), 'utf8'));
    expect([count('a'), count('b'), count('c')]).toEqual([600, 800, 400]);
  });
});
