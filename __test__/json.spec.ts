// readJson / writeJson / updateJson, both implementations: the format (spaces, the
// trailing newline kept as the file had it), corrupt files, writes through symlinks, and
// a multi-process updateJson counter that loses no increment (with a negative control).
import { mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IMPLEMENTATIONS, load } from './helpers/impls';
import { runFixture } from './helpers/spawn';
import { names, tempDir } from './helpers/tmp';

/** `workers` processes each incrementing the counter at `path` `count` times; the final count. */
async function countWith(impl: string, path: string, workers: number, count: number): Promise<number> {
  const runs = await Promise.all(
    Array.from({ length: workers }, () => runFixture('json-counter.cjs', [impl, path, String(count), String(workers)])),
  );
  for (const run of runs) expect(run.stdout, run.stderr).toBe('done\n');
  return (JSON.parse(readFileSync(path, 'utf8')) as { n: number }).n;
}

describe.each(IMPLEMENTATIONS)('JSON helpers (%s)', (impl) => {
  const cfs = load(impl);

  it('readJson: the value, undefined when absent, CorruptFileError naming the file when not JSON', async () => {
    const dir = tempDir('cfs-json');
    const path = join(dir, 'a.json');
    expect(await cfs.readJson(path)).toBeUndefined();
    expect(await cfs.readJson(join(dir, 'no-such-dir', 'a.json'))).toBeUndefined();
    writeFileSync(path, '\uFEFF{"a":[1,2]}\n');
    expect(await cfs.readJson(path)).toEqual({ a: [1, 2] });
    writeFileSync(path, '{"a":');
    const err = await cfs.readJson(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(cfs.CorruptFileError);
    expect(err).toMatchObject({ name: 'CorruptFileError', code: 'ECORRUPT', path });
    expect((err as Error).message).toContain(path);
  });

  it('writeJson: indented by spaces (default 2), with a final newline by default', async () => {
    const dir = tempDir('cfs-json');
    const path = join(dir, 'a.json');
    await cfs.writeJson(path, { a: [1] });
    expect(readFileSync(path, 'utf8')).toBe('{\n  "a": [\n    1\n  ]\n}\n');
    await cfs.writeJson(path, { a: 1 }, { spaces: 0 });
    expect(readFileSync(path, 'utf8')).toBe('{"a":1}\n');
    await cfs.writeJson(path, { a: 1 }, { spaces: '\t' });
    expect(readFileSync(path, 'utf8')).toBe('{\n\t"a": 1\n}\n');
    expect(names(dir)).toEqual(['a.json']);
  });

  it('writeJson and updateJson keep a file without a final newline without one', async () => {
    const dir = tempDir('cfs-json');
    const path = join(dir, 'a.json');
    writeFileSync(path, '{"a":1}');
    await cfs.writeJson(path, { a: 2 });
    expect(readFileSync(path, 'utf8')).toBe('{\n  "a": 2\n}');
    await cfs.updateJson<{ a: number }>(path, (v) => ({ a: (v?.a ?? 0) + 1 }), { spaces: 0 });
    expect(readFileSync(path, 'utf8')).toBe('{"a":3}');
  });

  it('writeJson checks its arguments before touching the file', async () => {
    const dir = tempDir('cfs-json');
    const path = join(dir, 'a.json');
    const write = cfs.writeJson as (...args: unknown[]) => Promise<void>;
    await expect(write(path, undefined)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await expect(write(path, cyclic)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(write(path, {}, { spaces: 11 })).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    await expect(write(path, {}, { spaces: true })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    await expect(write(path, {}, { durability: 'x' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    expect(names(dir)).toEqual([]);
  });

  it('updateJson: fn gets undefined when absent, its result is written and returned; if fn throws nothing is written', async () => {
    const dir = tempDir('cfs-json');
    const path = join(dir, 'a.json');
    const seen: unknown[] = [];
    const first = await cfs.updateJson(path, (v) => {
      seen.push(v);
      return { n: 1 };
    });
    expect(first).toEqual({ n: 1 });
    expect(seen).toEqual([undefined]);
    const before = readFileSync(path);
    await expect(
      cfs.updateJson(path, () => {
        throw new Error('no');
      }),
    ).rejects.toThrow('no');
    expect(readFileSync(path)).toEqual(before);
    writeFileSync(path, 'not json');
    await expect(cfs.updateJson(path, () => ({}))).rejects.toMatchObject({ code: 'ECORRUPT', path });
    expect(readFileSync(path, 'utf8')).toBe('not json');
    await expect((cfs.updateJson as (...a: unknown[]) => Promise<unknown>)(path, 'fn')).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG_TYPE',
    });
  });

  it('writes through a symlink to the file it names; updateJson locks that file, the link stays a link', async () => {
    const dir = tempDir('cfs-json');
    mkdirSync(join(dir, 'real'));
    const file = join(dir, 'real', 'a.json');
    const link = join(dir, 'link.json');
    symlinkSync('real/a.json', link);
    await cfs.writeJson(link, { via: 'link' });
    expect(readlinkSync(link)).toBe('real/a.json');
    expect(await cfs.readJson(file)).toEqual({ via: 'link' });
    await cfs.updateJson<{ n?: number }>(link, (v) => ({ ...v, n: 1 }));
    expect(readlinkSync(link)).toBe('real/a.json');
    expect(await cfs.readJson(file)).toEqual({ via: 'link', n: 1 });
    // The sidecar lock belongs to the file, not to the link.
    expect(names(join(dir, 'real'))).toContain('a.json.lock');
    expect(names(dir)).toEqual(['link.json', 'real']);
  });

  it('updateJson from 4 processes, half through a symlink: no increment lost', async () => {
    const dir = tempDir('cfs-json');
    const path = join(dir, 'counter.json');
    const link = join(dir, 'alias.json');
    symlinkSync('counter.json', link);
    const runs = await Promise.all([path, link, path, link].map((p) => runFixture('json-counter.cjs', [impl, p, '25'])));
    for (const run of runs) expect(run.stdout, run.stderr).toBe('done\n');
    expect((JSON.parse(readFileSync(path, 'utf8')) as { n: number }).n).toBe(100);
  });
});

describe('updateJson counter, negative control', () => {
  it('a plain read-modify-write from 4 processes loses increments', async () => {
    const path = join(tempDir('cfs-json'), 'counter.json');
    expect(await countWith('control', path, 4, 25)).toBeLessThan(100);
  });
});
