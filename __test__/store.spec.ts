import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IMPLEMENTATIONS, load } from './helpers/impls';
import { startNode } from './helpers/spawn';
import { names, tempDir } from './helpers/tmp';
import { allSucceed, startTogether, startWorker } from './helpers/worker';

describe.each(IMPLEMENTATIONS)('ConcurrentFileStore (%s)', (impl) => {
  const cfs = load(impl);

  it('reads, updates, lists and deletes JSON documents', async () => {
    const dir = join(tempDir(), 'store');
    const store = new cfs.ConcurrentFileStore(dir);
    expect(await store.read('tasks.json')).toBeUndefined();
    expect(await store.list()).toEqual([]);
    expect(await store.update('tasks.json', (c: string[] | undefined) => [...(c ?? []), 'write tests'])).toEqual(['write tests']);
    await store.update('notes.json', () => ({ ok: true }));
    expect(await store.read('tasks.json')).toEqual(['write tests']);
    expect(await store.updateOptimistic('tasks.json', (c: string[] | undefined) => [...(c ?? []), 'ship'])).toEqual([
      'write tests',
      'ship',
    ]);
    expect(await store.list()).toEqual(['notes.json', 'tasks.json']);
    expect(await store.list('task')).toEqual(['tasks.json']);
    expect(await store.delete('notes.json')).toBe(true);
    expect(await store.delete('notes.json')).toBe(false);
    expect(await store.list()).toEqual(['tasks.json']);
  });

  it('if fn throws, update writes nothing and the error propagates', async () => {
    const dir = tempDir();
    const store = new cfs.ConcurrentFileStore(dir);
    await store.update('doc.json', () => ({ v: 1 }));
    const before = readFileSync(join(dir, 'doc.json'));
    await expect(
      store.update('doc.json', () => {
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect(readFileSync(join(dir, 'doc.json')).equals(before)).toBe(true);
    // Native keeps its lock file; the fallback removes its marker. No temp file either way.
    expect(names(dir).filter((n) => !n.endsWith('.lock'))).toEqual(['doc.json']);
  });

  it('6 processes x 300 locked updates: exactly 1800', async () => {
    const dir = tempDir();
    const workers = await startTogether(6, () => startWorker(impl, 'store-update', dir, 'counter.json', 300, 'locked'));
    await allSucceed(workers);
    expect(JSON.parse(readFileSync(join(dir, 'counter.json'), 'utf8'))).toEqual({ n: 1800 });
  });

  it('createUnique from 8 processes x 500: 4000 distinct files, all whole JSON', async () => {
    const dir = tempDir();
    const workers = await startTogether(8, () => startWorker(impl, 'store-create', dir, 500, 'task'));
    await allSucceed(workers);
    const store = new cfs.ConcurrentFileStore(dir);
    const files = await store.list('task_');
    expect(files).toHaveLength(4000);
    for (const file of files) {
      expect(file).toMatch(/^task_\d+\.json$/);
      expect(JSON.parse(readFileSync(join(dir, file), 'utf8'))).toHaveProperty('i');
    }
  });

  it('rejects names that could escape the directory or collide with its own files', async () => {
    const root = tempDir();
    const dir = join(root, 'store');
    const store = new cfs.ConcurrentFileStore(dir);
    const bad = ['../x', 'a/b', 'a\\b', '', 'nul\0byte', '.', '..', '.hidden', 'data.json.lock'];
    for (const name of bad) {
      await expect(
        store.update(name, () => 1),
        JSON.stringify(name),
      ).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
      await expect(store.read(name)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
      await expect(store.delete(name)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    }
    await expect(store.createUnique('../up', {})).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(store.update(42 as unknown as string, () => 1)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    expect(readdirSync(root)).toEqual([]);
    expect(await store.createUnique('', { empty: 'prefix' })).toMatch(/^_\d+\.json$/);
  });

  it('corrupt JSON is reported with the file name and never overwritten', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'broken.json'), '{"oops"');
    const store = new cfs.ConcurrentFileStore(dir);
    await expect(store.read('broken.json')).rejects.toMatchObject({ name: 'CorruptFileError', path: join(dir, 'broken.json') });
    await expect(store.update('broken.json', () => ({ fixed: true }))).rejects.toThrow(join(dir, 'broken.json'));
    expect(readFileSync(join(dir, 'broken.json'), 'utf8')).toBe('{"oops"');
    expect(existsSync(join(dir, 'broken.json'))).toBe(true);
  });

  it("rejects up front a name whose '.lock' sidecar would not fit 255 bytes (UTF-8 bytes, not characters)", async () => {
    const root = tempDir();
    const dir = join(root, 'store');
    const store = new cfs.ConcurrentFileStore(dir);
    // 251 ASCII bytes; 126 two-byte characters (252 bytes); a 4-byte emoji pushing 247 bytes past the limit.
    const tooLong = ['a'.repeat(251), 'é'.repeat(126), `${'b'.repeat(247)}😀`];
    for (const name of tooLong) {
      expect(Buffer.byteLength(name)).toBeLessThanOrEqual(255); // the name itself fits...
      for (const call of [
        () => store.update(name, () => 1),
        () => store.updateOptimistic(name, () => 1),
        () => store.read(name),
        () => store.delete(name),
      ]) {
        await expect(call(), `${Buffer.byteLength(name)} bytes`).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
      }
    }
    await expect(store.createUnique('p'.repeat(226), {})).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    expect(readdirSync(root)).toEqual([]); // nothing touched
    const longest = 'c'.repeat(250); // 250 + '.lock' = 255 bytes: fits
    expect(await store.update(longest, () => ({ ok: true }))).toEqual({ ok: true });
    expect(await store.read(longest)).toEqual({ ok: true });
    expect(await store.createUnique('p'.repeat(225), { ok: true })).toMatch(/^p{225}_\d+\.json$/);
  });

  it('never follows a document that is a symlink: the call rejects with ELOOP, the target is untouched', async () => {
    const root = tempDir();
    const dir = join(root, 'store');
    const store = new cfs.ConcurrentFileStore(dir);
    await store.update('seed.json', () => 0); // creates the directory
    const outside = join(root, 'outside.json');
    writeFileSync(outside, '{"secret":true}');
    symlinkSync(outside, join(dir, 'planted.json'));
    symlinkSync(join(root, 'not-there.json'), join(dir, 'dangling.json'));
    for (const name of ['planted.json', 'dangling.json']) {
      const path = join(dir, name);
      await expect(
        store.update(name, () => ({ owned: true })),
        name,
      ).rejects.toMatchObject({ code: 'ELOOP', path });
      await expect(
        store.updateOptimistic(name, () => ({ owned: true })),
        name,
      ).rejects.toMatchObject({ code: 'ELOOP', path });
      await expect(store.read(name), name).rejects.toMatchObject({ code: 'ELOOP', path });
      await expect(store.delete(name), name).rejects.toMatchObject({ code: 'ELOOP', path });
      expect(lstatSync(path).isSymbolicLink()).toBe(true);
    }
    expect(readFileSync(outside, 'utf8')).toBe('{"secret":true}');
    expect(existsSync(join(root, 'not-there.json'))).toBe(false);
    expect(readlinkSync(join(dir, 'planted.json'))).toBe(outside);
  });

  it("delete removes the document's lock sidecar too: no empty '.lock' per document ever written", async () => {
    const dir = tempDir();
    const store = new cfs.ConcurrentFileStore(dir);
    for (let i = 0; i < 20; i++) {
      await store.update(`doc-${i}.json`, () => ({ i }));
      await store.updateOptimistic(`doc-${i}.json`, (c: { i: number } | undefined) => ({ i: (c?.i ?? 0) + 1 }));
    }
    for (let i = 0; i < 20; i++) expect(await store.delete(`doc-${i}.json`)).toBe(true);
    expect(await store.delete('never-written.json')).toBe(false);
    expect(names(dir).filter((n) => !n.startsWith('.workers'))).toEqual([]);
  });
});

/** fixtures/store-churn.cjs: says 'ready', waits for 'go', then prints 'overlaps <n>'. */
function startChurn(impl: string, dir: string, role: 'update' | 'delete', rounds: number) {
  const args = JSON.stringify([impl, dir, role, String(rounds)]);
  // As if run as `node store-churn.cjs ...args`.
  return startNode(`process.argv = [process.argv[0], 'store-churn.cjs', ...${args}]; require('./__test__/fixtures/store-churn.cjs')`);
}

describe.each(IMPLEMENTATIONS)('ConcurrentFileStore delete vs update (%s)', (impl) => {
  // Needs the lock to re-check, after taking the OS lock, that the locked file is still
  // the one at the path (API.md, Locks): otherwise a waiter parked on a sidecar that
  // delete removed, and a newcomer on the new sidecar, are both inside.
  it('4 processes x 300 locked updates racing 2 x 300 deletes: never two holders inside at once', async () => {
    const dir = tempDir();
    const children = [
      ...Array.from({ length: 4 }, () => startChurn(impl, dir, 'update', 300)),
      ...Array.from({ length: 2 }, () => startChurn(impl, dir, 'delete', 300)),
    ];
    await Promise.all(children.map((c) => c.nextLine()));
    for (const c of children) c.send('go');
    const results = await Promise.all(children.map((c) => c.exited));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const overlaps = results.reduce((sum, r) => sum + Number(/^overlaps (\d+)$/m.exec(r.stdout)![1]), 0);
    expect(overlaps).toBe(0);
  });
});

describe('store names on case-folding filesystems', () => {
  // Only Linux runs here: the platform default is tested through the rule itself.
  const { hasLockSuffix } = require('../dist/store.js') as typeof import('../ts/store');

  it("treats 'x.json.LOCK' as a lock sidecar where the filesystem folds case, and only there", () => {
    for (const name of ['x.json.LOCK', 'x.json.Lock', 'x.lOcK']) {
      expect(hasLockSuffix(name, true), name).toBe(true);
      expect(hasLockSuffix(name, false), name).toBe(false);
    }
    expect(hasLockSuffix('x.json.lock', false)).toBe(true);
    expect(hasLockSuffix('x.json', true)).toBe(false);
    expect(hasLockSuffix('x.json.LOCK')).toBe(process.platform === 'darwin' || process.platform === 'win32');
  });
});
