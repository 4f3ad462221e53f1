// Behaviour only the pure-JS fallback has: its atomic-write sequence on Node's fs.
// The shared suites (atomic.spec.ts, lock.spec.ts) cover the behaviour both
// implementations promise.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { atomicWrite, atomicWriteSync, createExclusiveSync, implementation, openAtomic } from '../dist/js.js';
import { ROOT, runNode } from './helpers/spawn';

let dir: string;

beforeEach(() => {
  dir = fs.mkdtempSync(join(tmpdir(), 'cfs-js-'));
});

afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const LINUX = process.platform === 'linux';

function names(): string[] {
  return fs.readdirSync(dir).sort();
}

describe('the fallback', () => {
  it('is the js implementation', () => {
    expect(implementation).toBe('js');
  });
});

describe('fallback atomic writes', () => {
  it('names temp files `.<basename>.<12 hex>.tmp` next to the target and removes them on abort', async () => {
    const target = join(dir, 'data.json');
    fs.writeFileSync(target, 'old');
    const file = await openAtomic(target);
    await file.write('partial');
    expect(names()).toEqual([expect.stringMatching(/^\.data\.json\.[0-9a-f]{12}\.tmp$/), 'data.json']);
    await file.abort();
    expect(names()).toEqual(['data.json']);
    expect(fs.readFileSync(target, 'utf8')).toBe('old');
  });

  it('sets permission bits like the native core: umask default, exact mode, kept mode', () => {
    const run = runNode(
      `process.umask(0o077);
       const fs = require('fs');
       const { atomicWriteSync } = require('concurrent-fs/js');
       const [fresh, exact, kept] = ['fresh', 'exact', 'kept'].map((n) => process.env.DIR + '/' + n);
       atomicWriteSync(fresh, 'x');
       atomicWriteSync(exact, 'x', { mode: 0o777 });
       fs.writeFileSync(kept, 'old');
       fs.chmodSync(kept, 0o640);
       atomicWriteSync(kept, 'new');
       console.log([fresh, exact, kept].map((p) => (fs.statSync(p).mode & 0o7777).toString(8)).join(' '));`,
      { DIR: dir },
    );
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe('600 777 640');
  });

  it.runIf(process.getuid?.() === 0)("keeps an existing file's owner, and its setgid bit across the chown", () => {
    const target = join(dir, 'owned');
    fs.writeFileSync(target, 'old');
    fs.chownSync(target, 4242, 4343);
    fs.chmodSync(target, 0o2750);
    atomicWriteSync(target, 'new');
    const stat = fs.statSync(target);
    expect([stat.uid, stat.gid, stat.mode & 0o7777]).toEqual([4242, 4343, 0o2750]);
  });

  it('writes through a symlink into the file it points to, leaving no temp on either side', () => {
    fs.mkdirSync(join(dir, 'real'));
    const real = join(dir, 'real', 'data');
    fs.writeFileSync(real, 'old');
    fs.symlinkSync(real, join(dir, 'link'));
    atomicWriteSync(join(dir, 'link'), 'new');
    expect(fs.readFileSync(real, 'utf8')).toBe('new');
    expect(fs.lstatSync(join(dir, 'link')).isSymbolicLink()).toBe(true);
    expect(names()).toEqual(['link', 'real']);
    expect(fs.readdirSync(join(dir, 'real'))).toEqual(['data']);
  });

  it('failures name the target, leave it as it was and leave no temp', async () => {
    const target = join(dir, 'data');
    fs.writeFileSync(target, 'old');
    expect(() => atomicWriteSync(target, 'new', { noClobber: true })).toThrow(expect.objectContaining({ code: 'EEXIST', path: target }));
    await expect(atomicWrite(target, 'new', { noClobber: true })).rejects.toMatchObject({ code: 'EEXIST', path: target });
    expect(createExclusiveSync(target, 'new')).toBe(false);
    expect(fs.readFileSync(target, 'utf8')).toBe('old');

    fs.mkdirSync(join(dir, 'sub'));
    expect(() => atomicWriteSync(join(dir, 'sub'), 'x')).toThrow(expect.objectContaining({ code: 'EISDIR', path: join(dir, 'sub') }));
    await expect(atomicWrite(`${join(dir, 'sub')}/`, 'x')).rejects.toMatchObject({ code: 'EISDIR' });
    const missing = join(dir, 'missing', 'data');
    for (const durability of ['none', 'full'] as const) {
      expect(() => atomicWriteSync(missing, 'x', { durability })).toThrow(expect.objectContaining({ code: 'ENOENT', path: missing }));
      await expect(atomicWrite(missing, 'x', { durability })).rejects.toMatchObject({ code: 'ENOENT', path: missing });
    }
    expect(names()).toEqual(['data', 'sub']);
    expect(fs.readdirSync(join(dir, 'sub'))).toEqual([]);
  });
});

// Fault injection with strace: the syscalls are Node's own (fs.fsyncSync and friends),
// so ptrace can fail them on the way in and we can watch the order they come in.
const STRACE = LINUX && spawnSync('strace', ['-qq', '-o', '/dev/null', 'true']).status === 0;

const WRITE_AND_REPORT = `
  const { atomicWrite, atomicWriteSync } = require('concurrent-fs/js');
  const { TARGET, DURABILITY, API } = process.env;
  const report = (err) => console.log(JSON.stringify(err === undefined ? { ok: true } :
    { code: err.code, syscall: err.syscall, path: err.path, committed: err.committed === true }));
  Promise.resolve()
    .then(() => API === 'sync' ? atomicWriteSync(TARGET, 'new', { durability: DURABILITY }) : atomicWrite(TARGET, 'new', { durability: DURABILITY }))
    .then(() => report(), report);
`;

/** Runs WRITE_AND_REPORT under strace; returns the child's report and strace's trace. */
function traced(straceArgs: string[], env: Record<string, string>): { report: Record<string, unknown>; trace: string[] } {
  const run = spawnSync('strace', [...straceArgs, '--', process.execPath, '-e', WRITE_AND_REPORT], {
    cwd: ROOT,
    // io_uring would take async fs calls past ptrace.
    env: { ...process.env, UV_USE_IO_URING: '0', ...env },
    encoding: 'utf8',
  });
  expect(run.status, run.stderr).toBe(0);
  return { report: JSON.parse(run.stdout), trace: run.stderr.split('\n') };
}

describe.runIf(STRACE)('fallback atomic writes under strace', () => {
  let target: string;
  beforeEach(() => {
    target = join(dir, 'data.json');
    fs.writeFileSync(target, 'old');
  });

  it('flushes the temp file before the rename, and the directory after it', () => {
    // Main thread only (no -f): the sync API makes every call there.
    const { report, trace } = traced(['-qq', '-y', '-e', 'trace=openat,write,fsync,fdatasync,close,rename'], {
      TARGET: target,
      DURABILITY: 'full',
      API: 'sync',
    });
    expect(report).toEqual({ ok: true });
    const steps = trace
      .filter((line) => line.includes(dir))
      .map((line) =>
        line
          .replace(/^(\w+)\(.*/, (all, call) => `${call} ${all.includes('.tmp') ? 'temp' : all.includes('data.json') ? 'target' : 'dir'}`)
          .replace(/^rename temp$/, 'rename'),
      );
    expect(steps).toEqual(['openat dir', 'openat temp', 'write temp', 'fsync temp', 'close temp', 'rename', 'fsync dir', 'close dir']);
    expect(trace.find((line) => line.startsWith('openat') && line.includes('.tmp'))).toContain('O_EXCL');
  });

  it.each([
    { API: 'sync', DURABILITY: 'full', inject: 'fsync:error=EIO:when=1', syscall: 'fsync' },
    { API: 'async', DURABILITY: 'data', inject: 'fdatasync:error=EIO', syscall: 'fdatasync' },
  ])('$API: a failed file flush ($syscall) never renames; the target keeps its content', ({ inject, syscall, ...env }) => {
    const { report } = traced(['-f', '-qq', '-o', '/dev/null', '-e', `inject=${inject}`], { TARGET: target, ...env });
    expect(report).toEqual({ code: 'EIO', syscall, path: target, committed: false });
    expect(fs.readFileSync(target, 'utf8')).toBe('old');
    expect(names()).toEqual(['data.json']);
  });

  it.each([
    { API: 'sync', DURABILITY: 'full', inject: 'fsync:error=EIO:when=2' },
    { API: 'async', DURABILITY: 'data', inject: 'fsync:error=EIO' },
  ])('$API: a failed directory flush reports committed: the new content is in place', ({ inject, ...env }) => {
    const { report } = traced(['-f', '-qq', '-o', '/dev/null', '-e', `inject=${inject}`], { TARGET: target, ...env });
    expect(report).toEqual({ code: 'EIO', syscall: 'fsync', path: target, committed: true });
    expect(fs.readFileSync(target, 'utf8')).toBe('new');
    expect(names()).toEqual(['data.json']);
  });

  it('a directory that cannot be flushed (EINVAL) is not an error', () => {
    const { report } = traced(['-f', '-qq', '-o', '/dev/null', '-e', 'inject=fsync:error=EINVAL:when=2'], {
      TARGET: target,
      DURABILITY: 'full',
      API: 'sync',
    });
    expect(report).toEqual({ ok: true });
    expect(fs.readFileSync(target, 'utf8')).toBe('new');
  });
});
