import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { unprivileged } from './helpers/as-nobody';
import { IMPLEMENTATIONS, load } from './helpers/impls';
import { runSync } from './helpers/spawn';
import { names, tempDir } from './helpers/tmp';
import { allSucceed, startTogether, startWorker } from './helpers/worker';

const TEMP_NAME = (base: string) => new RegExp(`^\\.${base.replace('.', '\\.')}\\.[0-9a-f]{12}\\.tmp$`);

describe.each(IMPLEMENTATIONS)('atomic writes (%s)', (impl) => {
  const cfs = load(impl);

  it('writes, replaces and leaves no temp file, at every durability', async () => {
    const dir = tempDir();
    const path = join(dir, 'data.json');
    for (const durability of ['none', 'data', 'full'] as const) {
      cfs.atomicWriteSync(path, `sync ${durability}`, { durability });
      expect(readFileSync(path, 'utf8')).toBe(`sync ${durability}`);
      await cfs.atomicWrite(path, Buffer.from(`async ${durability}`), { durability });
      expect(readFileSync(path, 'utf8')).toBe(`async ${durability}`);
    }
    expect(names(dir)).toEqual(['data.json']);
  });

  it('honours encoding and typed arrays', async () => {
    const dir = tempDir();
    cfs.atomicWriteSync(join(dir, 'a'), 'aGVsbG8=', { encoding: 'base64' });
    expect(readFileSync(join(dir, 'a'), 'utf8')).toBe('hello');
    await cfs.atomicWrite(join(dir, 'b'), new Uint16Array([0x6968]));
    expect(readFileSync(join(dir, 'b'), 'utf8')).toBe('hi');
  });

  it('keeps an existing file mode; `mode` sets it exactly, past the umask', async () => {
    const dir = tempDir();
    const path = join(dir, 'f');
    writeFileSync(path, 'old');
    chmodSync(path, 0o640);
    await cfs.atomicWrite(path, 'new');
    expect(statSync(path).mode & 0o7777).toBe(0o640);
    cfs.atomicWriteSync(path, 'newer', { mode: 0o777 });
    expect(statSync(path).mode & 0o7777).toBe(0o777);
    const fresh = join(dir, 'fresh');
    await cfs.atomicWrite(fresh, 'x');
    expect(statSync(fresh).mode & 0o777).toBe(0o666 & ~process.umask());
  });

  it('writes through a symlink instead of replacing it', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'real'), 'old');
    symlinkSync('real', join(dir, 'link'));
    cfs.atomicWriteSync(join(dir, 'link'), 'new');
    expect(readFileSync(join(dir, 'real'), 'utf8')).toBe('new');
  });

  it('noClobber fails with EEXIST and leaves the file as it was', async () => {
    const dir = tempDir();
    const path = join(dir, 'f');
    await cfs.atomicWrite(path, 'first', { noClobber: true });
    await expect(cfs.atomicWrite(path, 'second', { noClobber: true })).rejects.toMatchObject({ code: 'EEXIST', path });
    expect(() => cfs.atomicWriteSync(path, 'third', { noClobber: true })).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    expect(readFileSync(path, 'utf8')).toBe('first');
    expect(names(dir)).toEqual(['f']);
  });

  it('createExclusive says whether it created the file', async () => {
    const dir = tempDir();
    const path = join(dir, 'f');
    expect(await cfs.createExclusive(path, 'mine')).toBe(true);
    expect(await cfs.createExclusive(path, 'yours')).toBe(false);
    expect(cfs.createExclusiveSync(path, 'theirs')).toBe(false);
    expect(cfs.createExclusiveSync(join(dir, 'g'), 'g')).toBe(true);
    expect(readFileSync(path, 'utf8')).toBe('mine');
    expect(names(dir)).toEqual(['f', 'g']);
  });

  it('createExclusive from 8 processes at once: exactly one creates, the file is whole', async () => {
    const dir = tempDir();
    const path = join(dir, 'claim');
    const workers = await startTogether(8, (i) => startWorker(impl, 'create-exclusive', path, `p${i}`));
    await allSucceed(workers);
    const winners = workers.map((w, i) => [w.lines.at(-1), i] as const).filter(([line]) => line === 'true');
    expect(winners).toHaveLength(1);
    const content = readFileSync(path);
    expect(content.subarray(0, content.indexOf(10)).toString()).toBe(`p${winners[0]![1]}`);
    expect(content.length).toBe(64 * 1024);
    expect(names(dir)).toEqual(['claim']);
  });

  it('openAtomic streams content and replaces the target only on commit', async () => {
    const dir = tempDir();
    const path = join(dir, 'big');
    writeFileSync(path, 'old');
    const file = await cfs.openAtomic(path);
    for (let i = 0; i < 10; i++) await file.write(`chunk ${i}\n`);
    expect(readFileSync(path, 'utf8')).toBe('old');
    await file.commit();
    expect(readFileSync(path, 'utf8')).toBe(Array.from({ length: 10 }, (_, i) => `chunk ${i}\n`).join(''));
    expect(names(dir)).toEqual(['big']);
    await expect(file.write('late')).rejects.toMatchObject({ code: 'EBADF' });
  });

  it('openAtomic abort leaves the target byte-identical and no temp file', async () => {
    const dir = tempDir();
    const path = join(dir, 'f');
    writeFileSync(path, 'old');
    const file = await cfs.openAtomic(path);
    await file.write('partial');
    expect(names(dir).filter((n) => TEMP_NAME('f').test(n))).toHaveLength(1);
    await file.abort();
    expect(readFileSync(path, 'utf8')).toBe('old');
    expect(names(dir)).toEqual(['f']);
  });

  it('4 writers x 200 writes of 64 KiB while 2 readers read: every read is one whole payload', async () => {
    const dir = tempDir();
    const path = join(dir, 'shared.bin');
    const stop = join(dir, 'stop');
    const readers = await startTogether(2, () => startWorker(impl, 'read-loop', path, stop));
    const writers = await startTogether(4, (i) => startWorker(impl, 'write-loop', path, i, 200));
    await allSucceed(writers);
    writeFileSync(stop, '');
    await allSucceed(readers);
    const results = readers.map((r) => JSON.parse(r.lines.at(-1)!) as { reads: number; torn: number });
    expect(results.map((r) => r.torn)).toEqual([0, 0]);
    expect(results.every((r) => r.reads > 0)).toBe(true);
    expect(names(dir).filter((n) => n !== 'stop')).toEqual(['shared.bin']);
  });

  it('100 SIGKILLs at random moments of a 4 MiB write: the file is always old or new', async () => {
    const dir = tempDir();
    const path = join(dir, 'target.bin');
    const size = 4 * 1024 * 1024;
    const head = (tag: string) => Buffer.from(`${tag}\n`);
    const expected = (tag: string) => Buffer.concat([head(tag), Buffer.alloc(size - 2, tag)]);
    const valid = [expected('A'), expected('B')];
    cfs.atomicWriteSync(path, valid[1]!);
    for (let round = 0; round < 100; round++) {
      const writer = startWorker(impl, 'crash-writer', path, size);
      await writer.line((l) => l === 'writing');
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 40)); // the random moment of the crash
      writer.process.kill('SIGKILL');
      expect((await writer.exited).signal).toBe('SIGKILL');
      const content = readFileSync(path);
      expect(
        valid.some((v) => v.equals(content)),
        `round ${round}: ${content.length} bytes`,
      ).toBe(true);
    }
    // SIGKILL can leave temp files (no code runs); they are never the target and are named as documented.
    for (const name of names(dir).filter((n) => n !== 'target.bin')) expect(name).toMatch(TEMP_NAME('target.bin'));
  });

  it("20 unawaited atomicWrites to one path end with the last call's content, in 30 of 30 rounds", async () => {
    const dir = tempDir();
    const path = join(dir, 'f');
    let wrong = 0;
    for (let round = 0; round < 30; round++) {
      await Promise.all(Array.from({ length: 20 }, (_, i) => cfs.atomicWrite(path, `round ${round} call ${i}`, { durability: 'none' })));
      if (readFileSync(path, 'utf8') !== `round ${round} call 19`) wrong++;
    }
    expect(wrong).toBe(0);
    expect(names(dir)).toEqual(['f']);
  });

  it('openAtomic commits to one path land in the order commit() was called', async () => {
    const dir = tempDir();
    const path = join(dir, 'f');
    const files = await Promise.all(Array.from({ length: 10 }, () => cfs.openAtomic(path)));
    // The later commits have less to flush: unordered, they would finish first.
    await Promise.all(files.map((file, i) => file.write(Buffer.alloc((10 - i) * 256 * 1024, `${i}`))));
    // Committed in reverse opening order: the first file opened is committed last.
    await Promise.all(files.reverse().map((file) => file.commit()));
    expect(readFileSync(path).equals(Buffer.alloc(10 * 256 * 1024, '0'))).toBe(true);
    expect(names(dir)).toEqual(['f']);
  });

  it('a step after a failed one is EBADF naming the path', async () => {
    const dir = tempDir();
    const sub = join(dir, 'sub');
    mkdirSync(sub);
    const path = join(sub, 'f');
    const file = await cfs.openAtomic(path);
    await file.write('x');
    rmSync(sub, { recursive: true });
    await expect(file.commit()).rejects.toMatchObject({ code: 'ENOENT', path });
    await expect(file.write('more')).rejects.toMatchObject({ code: 'EBADF', errno: -9, syscall: 'write', path });
    await expect(file.write('more')).rejects.toThrow(`EBADF: bad file descriptor, write '${path}'`);
  });

  it('errors name the path the caller gave, not where its symlink leads', async () => {
    const dir = tempDir();
    const path = join(dir, 'link');
    symlinkSync(join(dir, 'missing', 'x'), path);
    await expect(cfs.atomicWrite(path, 'x')).rejects.toMatchObject({ code: 'ENOENT', syscall: 'open', path });
    expect(() => cfs.atomicWriteSync(path, 'x')).toThrow(`ENOENT: no such file or directory, open '${path}'`);
  });

  describe('bad input: the right error, nothing touched, no temp file', () => {
    it('rejects wrong argument types and values before touching anything', async () => {
      const dir = tempDir();
      const path = join(dir, 'f');
      writeFileSync(path, 'old');
      const cases: [unknown[], string][] = [
        [[`${path}\0x`, 'x'], 'ERR_INVALID_ARG_VALUE'],
        [[42, 'x'], 'ERR_INVALID_ARG_TYPE'],
        [[path, 42], 'ERR_INVALID_ARG_TYPE'],
        [[path, 'x', { mode: 0o10000 }], 'ERR_OUT_OF_RANGE'],
        [[path, 'x', { mode: -1 }], 'ERR_OUT_OF_RANGE'],
        [[path, 'x', { mode: '644' }], 'ERR_INVALID_ARG_TYPE'],
        [[path, 'x', { durability: 'fast' }], 'ERR_INVALID_ARG_VALUE'],
        [[path, 'x', { noClobber: 'yes' }], 'ERR_INVALID_ARG_TYPE'],
        [[path, 'x', { encoding: 'klingon' }], 'ERR_INVALID_ARG_VALUE'],
        [[path, 'x', { signal: {} }], 'ERR_INVALID_ARG_TYPE'],
        [[path, 'x', 'full'], 'ERR_INVALID_ARG_TYPE'],
      ];
      const write = cfs.atomicWrite as (...a: unknown[]) => Promise<void>;
      const writeSync = cfs.atomicWriteSync as (...a: unknown[]) => void;
      for (const [args, code] of cases) {
        await expect(write(...args), JSON.stringify(args)).rejects.toMatchObject({ code });
        expect(() => writeSync(...args)).toThrow(expect.objectContaining({ code }));
      }
      expect(readFileSync(path, 'utf8')).toBe('old');
      expect(names(dir)).toEqual(['f']);
    });

    it('an aborted signal rejects with AbortError before any file is touched', async () => {
      const dir = tempDir();
      const path = join(dir, 'f');
      const controller = new AbortController();
      controller.abort(new Error('stop'));
      const rejection = cfs.atomicWrite(path, 'x', { signal: controller.signal });
      await expect(rejection).rejects.toMatchObject({ name: 'AbortError', code: 'ABORT_ERR', cause: controller.signal.reason });
      expect(existsSync(path)).toBe(false);
    });

    it('a directory as the target is EISDIR', async () => {
      const dir = tempDir();
      mkdirSync(join(dir, 'sub'));
      await expect(cfs.atomicWrite(join(dir, 'sub'), 'x')).rejects.toMatchObject({ code: 'EISDIR', path: join(dir, 'sub') });
      expect(names(dir)).toEqual(['sub']);
      expect(names(join(dir, 'sub'))).toEqual([]);
    });

    it('a missing parent is ENOENT naming the target', async () => {
      const dir = tempDir();
      const path = join(dir, 'missing', 'f');
      await expect(cfs.atomicWrite(path, 'x')).rejects.toMatchObject({ code: 'ENOENT', syscall: 'open', path, errno: -2 });
      expect(() => cfs.atomicWriteSync(path, 'x')).toThrow(/^ENOENT: no such file or directory, open '.*missing\/f'$/);
    });

    it('a read-only directory is EACCES, with the old file intact', () => {
      // Root ignores permission bits, so the write runs as an unprivileged user.
      const dir = tempDir();
      const path = join(dir, 'f');
      writeFileSync(path, 'old');
      chmodSync(dir, 0o555);
      const { wrapper, root } = unprivileged();
      const entry = join(root, 'dist', impl === 'js' ? 'js.js' : 'native.js');
      const script = `try { require(${JSON.stringify(entry)}).atomicWriteSync(${JSON.stringify(path)}, 'new') } catch (e) { console.log(e.code) }`;
      const run = runSync([...wrapper, process.execPath, '-e', script], { cwd: root });
      chmodSync(dir, 0o755);
      expect(run.stdout.trim()).toBe('EACCES');
      expect(readFileSync(path, 'utf8')).toBe('old');
      expect(names(dir)).toEqual(['f']);
    });
  });
});
