// The `mkdirs` option of every write path, both implementations: missing parents are
// created (and only when asked), and unless durability is 'none' each created
// directory's parent is flushed, after the directories exist and before the file's.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runFaulted, SHIM_MISSING } from './helpers/faults';
import { IMPLEMENTATIONS, load } from './helpers/impls';
import { tempDir } from './helpers/tmp';

type Cfs = ReturnType<typeof load>;

/** Every write path, writing `content` to `path` with `options`. */
const WRITERS: Record<string, (cfs: Cfs, path: string, options: { mkdirs?: boolean }) => Promise<unknown>> = {
  atomicWrite: (cfs, path, o) => cfs.atomicWrite(path, 'new', o),
  atomicWriteSync: async (cfs, path, o) => cfs.atomicWriteSync(path, 'new', o),
  createExclusive: (cfs, path, o) => cfs.createExclusive(path, 'new', o),
  createExclusiveSync: async (cfs, path, o) => cfs.createExclusiveSync(path, 'new', o),
  openAtomic: async (cfs, path, o) => {
    const file = await cfs.openAtomic(path, o);
    await file.write('new');
    await file.commit();
  },
  atomicWriteMany: (cfs, path, o) => cfs.atomicWriteMany([{ path, data: 'new' }], o),
  writeJson: (cfs, path, o) => cfs.writeJson(path, 'new', o),
};

describe.each(IMPLEMENTATIONS)('mkdirs (%s)', (impl) => {
  const cfs = load(impl);

  it.each(Object.keys(WRITERS))('%s: creates missing parents with mkdirs, fails with ENOENT and creates nothing without', async (name) => {
    const write = WRITERS[name]!;
    const dir = tempDir('cfs-mkdirs');
    const path = join(dir, 'a', 'b', 'c', 'f.json');
    await expect(write(cfs, path, {})).rejects.toMatchObject({ code: 'ENOENT' });
    expect(existsSync(join(dir, 'a'))).toBe(false);
    await write(cfs, path, { mkdirs: true });
    expect(readFileSync(path, 'utf8')).toBe(name === 'writeJson' ? '"new"\n' : 'new');
    // Existing parents are fine too.
    await expect(write(cfs, join(dir, 'a', 'g'), { mkdirs: true })).resolves.not.toThrow();
  });

  it('rejects a non-boolean mkdirs before touching anything', async () => {
    const dir = tempDir('cfs-mkdirs');
    const write = cfs.atomicWrite as (...a: unknown[]) => Promise<void>;
    await expect(write(join(dir, 'a', 'f'), 'x', { mkdirs: 'yes' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    expect(existsSync(join(dir, 'a'))).toBe(false);
  });
});

describe.skipIf(SHIM_MISSING).each(IMPLEMENTATIONS)('mkdirs flushes the created directories (%s)', (impl) => {
  it.each(['atomicWriteSync', 'atomicWrite', 'atomicWriteMany'])(
    '%s: each created directory’s parent is flushed; none at durability none',
    async (api) => {
      const dir = tempDir('cfs-mkdirs');
      const path = join(dir, 'a', 'b', 'f');
      const flushed = async (durability: string, target: string) => {
        const run = await runFaulted('mkdirs-child.cjs', [impl, api, target, durability], { trace: `${dir}*` });
        expect(run.stdout, run.stderr).toBe('ok\n');
        return run.log.filter((line) => line.startsWith('fsync ') && !line.includes('.tmp ')).map((line) => line.split(' ')[1]);
      };
      // dir gained a, a gained b: both flushed; b (where the file is) is the write's own flush.
      expect(await flushed('full', path)).toEqual([dir, join(dir, 'a'), join(dir, 'a', 'b')]);
      expect(await flushed('none', join(dir, 'c', 'd', 'f'))).toEqual([]);
    },
  );
});
