// atomicWriteMany, both implementations: what lands on disk, argument checks, injected
// faults (a failed file flush renames nothing; a failed rename or directory flush
// reports exactly what was written), SIGKILL at random moments of large batches, and
// the flush count that makes it worth having.
import { chmodSync, mkdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FAULT_ENV, type Fault, isTempName, report, runFaulted, SHIM_MISSING, STRACE_MISSING, tempGlob } from './helpers/faults';
import { IMPLEMENTATIONS, load } from './helpers/impls';
import { FIXTURES, killAfterLine, runSync, startFixture } from './helpers/spawn';
import { names, tempDir } from './helpers/tmp';
import type { Impl } from './helpers/worker';

const OLD = Buffer.from('old\n');

/** Temp-file names left in `dir` (any target's). */
function temps(dir: string): string[] {
  return names(dir).filter((name) => name.endsWith('.tmp'));
}

describe.each(IMPLEMENTATIONS)('atomicWriteMany (%s)', (impl) => {
  const cfs = load(impl);

  it('writes every file byte for byte, strings and bytes, in several directories', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(2), fc.oneof(fc.string(), fc.uint8Array({ maxLength: 3000 }))), { minLength: 1, maxLength: 30 }),
        async (files) => {
          const root = tempDir('cfs-many');
          const dirs = [root, join(root, 'a'), join(root, 'b')];
          for (const dir of dirs.slice(1)) mkdirSync(dir);
          const entries = files.map(([d, data], i) => ({ path: join(dirs[d]!, `f${i}`), data }));
          for (const [i, entry] of entries.entries()) if (i % 2 === 0) writeFileSync(entry.path, OLD);
          await cfs.atomicWriteMany(entries, { durability: 'data' });
          for (const { path, data } of entries) {
            expect(readFileSync(path)).toEqual(typeof data === 'string' ? Buffer.from(data) : Buffer.from(data));
          }
          for (const dir of dirs) expect(temps(dir)).toEqual([]);
        },
      ),
      { numRuns: 15 },
    );
  });

  it('decodes strings in options.encoding', async () => {
    const dir = tempDir('cfs-many');
    await cfs.atomicWriteMany([{ path: join(dir, 'a'), data: 'aGVsbG8=' }], { encoding: 'base64' });
    expect(readFileSync(join(dir, 'a'), 'utf8')).toBe('hello');
  });

  it("keeps an existing file's mode, sets an entry's mode exactly (not masked by the umask)", async () => {
    const dir = tempDir('cfs-many');
    const [kept, exact, fresh] = ['kept', 'exact', 'fresh'].map((n) => join(dir, n)) as [string, string, string];
    writeFileSync(kept, OLD);
    chmodSync(kept, 0o640);
    await cfs.atomicWriteMany([
      { path: kept, data: 'new' },
      { path: exact, data: 'new', mode: 0o777 },
      { path: fresh, data: 'new' },
    ]);
    const mode = (p: string) => statSync(p).mode & 0o7777;
    expect([mode(kept), mode(exact)]).toEqual([0o640, 0o777]);
    expect(mode(fresh)).toBe(0o666 & ~process.umask());
  });

  it('follows a symlink to the file it names, as atomicWrite does; the link stays a link', async () => {
    const dir = tempDir('cfs-many');
    mkdirSync(join(dir, 'real'));
    writeFileSync(join(dir, 'real', 'target'), OLD);
    symlinkSync('real/target', join(dir, 'link'));
    symlinkSync('real/absent', join(dir, 'dangling'));
    await cfs.atomicWriteMany([
      { path: join(dir, 'link'), data: 'through the link' },
      { path: join(dir, 'dangling'), data: 'created at the target' },
    ]);
    expect(readlinkSync(join(dir, 'link'))).toBe('real/target');
    expect(readFileSync(join(dir, 'real', 'target'), 'utf8')).toBe('through the link');
    expect(readFileSync(join(dir, 'real', 'absent'), 'utf8')).toBe('created at the target');
    expect(names(join(dir, 'real'))).toEqual(['absent', 'target']);
  });

  it('of two entries for one path, the later one wins', async () => {
    const dir = tempDir('cfs-many');
    const path = join(dir, 'f');
    await cfs.atomicWriteMany([
      { path, data: 'first' },
      { path: join(dir, '.', 'f'), data: 'second' },
    ]);
    expect(readFileSync(path, 'utf8')).toBe('second');
    expect(names(dir)).toEqual(['f']);
  });

  it('commits after earlier unawaited writes to the same paths, in call order', async () => {
    const dir = tempDir('cfs-many');
    const path = join(dir, 'f');
    await Promise.all([
      cfs.atomicWrite(path, 'single, first'),
      cfs.atomicWriteMany([{ path, data: 'batch, second' }]),
      cfs.atomicWrite(path, 'single, third'),
    ]);
    expect(readFileSync(path, 'utf8')).toBe('single, third');
  });

  it('checks every entry before touching any file, naming the entry', async () => {
    const dir = tempDir('cfs-many');
    const good = { path: join(dir, 'good'), data: 'x' };
    const write = cfs.atomicWriteMany as (...args: unknown[]) => Promise<void>;
    await expect(write('nope')).rejects.toMatchObject({
      name: 'TypeError',
      code: 'ERR_INVALID_ARG_TYPE',
      message: expect.stringContaining('"entries"'),
    });
    await expect(write([good, null])).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG_TYPE',
      message: expect.stringContaining('"entries[1]"'),
    });
    await expect(write([good, { path: 1, data: 'x' }])).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG_TYPE',
      message: expect.stringContaining('"entries[1].path"'),
    });
    await expect(write([good, { path: `${dir}/a\0b`, data: 'x' }])).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(write([good, { path: join(dir, 'b'), data: 5 }])).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG_TYPE',
      message: expect.stringContaining('"entries[1].data"'),
    });
    await expect(write([good, { path: join(dir, 'b'), data: 'x', mode: 0o10000 }])).rejects.toMatchObject({
      name: 'RangeError',
      code: 'ERR_OUT_OF_RANGE',
      message: expect.stringContaining('"entries[1].mode"'),
    });
    await expect(write([good], { durability: 'fast' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(write([good], { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' });
    expect(names(dir)).toEqual([]);
  });

  it('an entry that cannot be written fails the batch before any rename, with no temp left', async () => {
    const dir = tempDir('cfs-many');
    const [a, b] = [join(dir, 'a'), join(dir, 'b')];
    writeFileSync(a, OLD);
    writeFileSync(b, OLD);
    const missing = join(dir, 'no-such-dir', 'c');
    const err = await cfs
      .atomicWriteMany([
        { path: a, data: 'new' },
        { path: missing, data: 'new' },
        { path: b, data: 'new' },
      ])
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ENOENT', path: missing, written: [] });
    expect((err as { committed?: boolean }).committed).toBeUndefined();
    expect([readFileSync(a), readFileSync(b)]).toEqual([OLD, OLD]);
    expect(names(dir)).toEqual(['a', 'b']);
  });

  it('an empty batch does nothing', async () => {
    await expect(cfs.atomicWriteMany([])).resolves.toBeUndefined();
  });
});

interface ManyReport {
  ok: boolean;
  code?: string;
  committed?: boolean;
  written?: string[] | null;
  message?: string;
  leaked: string[];
}

const COUNT = 8;
const SIZE = 16 * 1024;
const NEW = Buffer.alloc(SIZE, 'N');
const files = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `f${from + i}`);

/** A directory of COUNT files holding OLD, and the run of one faulted batch over them. */
async function faultedBatch(impl: Impl, durability: string, fault: (dir: string) => Fault) {
  const dir = tempDir('cfs-many-fault');
  for (const name of files(0, COUNT)) writeFileSync(join(dir, name), OLD);
  const run = await runFaulted('write-many-child.cjs', [impl, 'once', dir, String(COUNT), durability, String(SIZE)], {
    fault: fault(dir),
    trace: `${dir}*`,
  });
  expect(run.code, run.stderr).toBe(0);
  const result = report<ManyReport>(run);
  const contents = files(0, COUNT).map((name) =>
    readFileSync(join(dir, name)).equals(NEW) ? 'new' : readFileSync(join(dir, name)).equals(OLD) ? 'old' : 'torn',
  );
  const injected = run.log.findIndex((line) => line.endsWith(' injected'));
  return { dir, result, contents, log: run.log, injected };
}

describe.skipIf(SHIM_MISSING).each(IMPLEMENTATIONS)('atomicWriteMany under injected faults (%s)', (impl) => {
  it.each([
    { call: 'fsync', durability: 'full' },
    { call: 'fdatasync', durability: 'data' },
  ] as const)('EIO on the $call of one temp file: nothing renamed, every file old, no temp, no fd leak', async ({ call, durability }) => {
    const { dir, result, contents, log, injected } = await faultedBatch(impl, durability, (d) => ({
      call,
      path: tempGlob(d, 'f5'),
      errno: 'EIO',
    }));
    expect(injected).toBeGreaterThanOrEqual(0);
    expect(result).toMatchObject({ ok: false, code: 'EIO', committed: false, written: [], leaked: [] });
    expect(contents).toEqual(Array(COUNT).fill('old'));
    expect(log.filter((line) => /^(rename|link) .*\.tmp ok$/.test(line))).toEqual([]);
    expect(temps(dir)).toEqual([]);
  });

  it('EIO on the rename of the 4th file: exactly the first 3 written, the rest old, no temp', async () => {
    const { dir, result, contents } = await faultedBatch(impl, 'full', (d) => ({ call: 'rename', path: tempGlob(d, 'f3'), errno: 'EIO' }));
    expect(result).toMatchObject({ ok: false, code: 'EIO', committed: false, written: files(0, 3), leaked: [] });
    expect(contents).toEqual([...Array(3).fill('new'), ...Array(COUNT - 3).fill('old')]);
    expect(temps(dir)).toEqual([]);
  });

  it('EIO on the one directory flush: committed, every file written and new', async () => {
    const { dir, result, contents, log } = await faultedBatch(impl, 'full', (d) => ({ call: 'fsync', path: d, errno: 'EIO' }));
    expect(result).toMatchObject({ ok: false, code: 'EIO', committed: true, written: files(0, COUNT), leaked: [] });
    expect(contents).toEqual(Array(COUNT).fill('new'));
    expect(temps(dir)).toEqual([]);
    // One directory, one flush, after every rename.
    const dirFlushes = log.filter((line) => line.startsWith(`fsync ${dir} `));
    expect(dirFlushes).toHaveLength(1);
    const lastRename = log.map((line) => /^rename .*\.tmp ok$/.test(line)).lastIndexOf(true);
    expect(log.findIndex((line) => line.startsWith(`fsync ${dir} `))).toBeGreaterThan(lastRename);
  });
});

if (SHIM_MISSING) it.skip(`atomicWriteMany faults: skipped, ${SHIM_MISSING}`, () => {});

/** Starts a looping batch writer and SIGKILLs it `delayMs` after its first batch; resolves on exit. */
function killBatchAfter(impl: Impl, dir: string, count: number, size: number, delayMs: number): Promise<void> {
  const writer = startFixture('write-many-child.cjs', [impl, 'loop', dir, count, 'none', size]);
  return killAfterLine(writer, (line) => line === 'batch', delayMs);
}

describe.each(IMPLEMENTATIONS)('atomicWriteMany killed at random moments (%s)', (impl) => {
  it('every file of a large batch is old or new, whole; only temp files are left', async () => {
    const count = 200;
    const size = 8 * 1024;
    const payload = (tag: string) => Buffer.concat([Buffer.from(`${tag}\n`), Buffer.alloc(size - 2, tag)]);
    const valid = [payload('A'), payload('B')];
    let interrupted = 0;
    for (let round = 0; round < 6; round++) {
      const dir = tempDir('cfs-many-kill');
      for (const name of files(0, count)) writeFileSync(join(dir, name), valid[1]!);
      await killBatchAfter(impl, dir, count, size, Math.random() * 20);
      const seen = new Set<number>();
      for (const name of files(0, count)) {
        const which = valid.findIndex((v) => v.equals(readFileSync(join(dir, name))));
        expect(which, `${name} after round ${round}`).toBeGreaterThanOrEqual(0);
        seen.add(which);
      }
      const left = names(dir).filter((n) => !/^f\d+$/.test(n));
      expect(left.filter((n) => !files(0, count).some((f) => isTempName(n, f)))).toEqual([]);
      // A kill inside a batch leaves its temps, or some files renamed and some not.
      if (left.length > 0 || seen.size === 2) interrupted++;
    }
    // The kills did land inside batches, where a torn state could show.
    expect(interrupted).toBeGreaterThan(0);
  });
});

/** fsync-family calls of one child run of the fixture, counted by `strace -c`. */
function flushCalls(impl: Impl, mode: 'once' | 'sync-loop', dir: string, count: number): number {
  const log = join(tempDir('cfs-many-strace'), 'summary');
  const fixture = join(FIXTURES, 'write-many-child.cjs');
  const strace = ['strace', '-c', '-f', '-o', log, '-e', 'trace=fsync,fdatasync,syncfs', '--'];
  const run = runSync([...strace, process.execPath, fixture, impl, mode, dir, String(count), 'full', '1024'], { env: FAULT_ENV });
  expect(run.code, run.stderr).toBe(0);
  let total = 0;
  // "% time  seconds  usecs/call  calls  [errors]  syscall"
  for (const match of readFileSync(log, 'utf8').matchAll(/^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(fsync|fdatasync|syncfs)$/gm)) {
    total += Number(match[1]);
  }
  return total;
}

describe.skipIf(STRACE_MISSING).each(IMPLEMENTATIONS)('atomicWriteMany flush count (%s)', (impl) => {
  it("100 files at 'full' in one directory: one flush per file and one for the directory, against two per file one by one", () => {
    const many = flushCalls(impl, 'once', tempDir('cfs-many-count'), 100);
    const oneByOne = flushCalls(impl, 'sync-loop', tempDir('cfs-many-count'), 100);
    expect({ many, oneByOne }).toEqual({ many: 101, oneByOne: 200 });
  });
});
