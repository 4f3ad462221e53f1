// Behaviour only the pure-JS fallback has: lock files with stale-owner detection, and
// its atomic-write sequence on Node's fs. The shared suites (atomic.spec.ts,
// lock.spec.ts) cover the behaviour both implementations promise.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { atomicWrite, atomicWriteSync, createExclusiveSync, FileLock, implementation, LockTimeoutError, openAtomic } from '../dist/js.js';
import { HAVE_STRACE, runStraced } from './helpers/faults';
import { runNode, startNode } from './helpers/spawn';

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

type Marker = Record<string, unknown>;

/** Where a fallback holder of the lock file `lockPath` publishes its marker. */
function markerOf(lockPath: string): string {
  return join(dir, `.${lockPath.slice(dir.length + 1)}.js-holder`);
}

function readMarker(path: string): Marker {
  return JSON.parse(fs.readFileSync(path, 'utf8'));
}

/** A real marker of this process, as the starting point for other owners' markers. */
function ownMarker(): Marker {
  const probe = join(dir, 'probe.lock');
  const lock = new FileLock(probe);
  expect(lock.tryAcquire()).toBe(true);
  const marker = readMarker(markerOf(probe));
  lock.release();
  fs.unlinkSync(probe);
  return marker;
}

/** Writes a marker (at a marker's path) like this process's own, with `fields` changed, `ageS` seconds old. */
function plantMarker(path: string, fields: Marker, ageS = 0): void {
  fs.writeFileSync(path, JSON.stringify({ ...ownMarker(), token: 'planted', ...fields }));
  setAge(path, ageS);
}

function setAge(path: string, ageS: number): void {
  const time = Date.now() / 1000 - ageS;
  fs.utimesSync(path, time, time);
}

/** The pid of a process that has exited and been reaped. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '']).pid;
}

const HOLD = `
  const { FileLock } = require('concurrent-fs/js');
  const lock = new FileLock(process.env.LOCK);
  lock.acquireSync();
  console.log('locked');
  process.stdin.on('data', () => { lock.release(); console.log('released'); process.exit(0); });
`;

describe('the fallback', () => {
  it('is the js implementation', () => {
    expect(implementation).toBe('js');
  });
});

describe('fallback locks: a marker beside the lock file', () => {
  it('holds a marker naming the owner while locked, removed on release; the lock file stays, empty', () => {
    const path = join(dir, 'a.lock');
    const lock = new FileLock(path);
    lock.acquireSync();
    expect(readMarker(markerOf(path))).toMatchObject({ pid: process.pid, shared: false });
    expect(fs.readFileSync(path, 'utf8')).toBe('');
    lock.release();
    expect(names()).toEqual(['a.lock']);
    expect(fs.readFileSync(path, 'utf8')).toBe('');
  });

  it('two FileLock objects in one process exclude each other; shared counts as exclusive', () => {
    const path = join(dir, 'a.lock');
    const a = new FileLock(path);
    const b = new FileLock(path);
    expect(a.tryAcquire()).toBe(true);
    expect(b.tryAcquire()).toBe(false);
    a.release();
    expect(b.tryAcquire()).toBe(true);
    b.release();

    const readers = [new FileLock(path, { shared: true }), new FileLock(path, { shared: true })];
    expect(readers[0]?.tryAcquire()).toBe(true);
    expect(readers[1]?.tryAcquire()).toBe(false);
    readers[0]?.release();
  });

  it('a live holder in another process is respected; once SIGKILLed, its marker is stale', async () => {
    const path = join(dir, 'a.lock');
    const holder = startNode(HOLD, { LOCK: path });
    expect(await holder.nextLine()).toBe('locked');
    expect(readMarker(markerOf(path)).pid).toBe(holder.process.pid);

    const lock = new FileLock(path);
    expect(lock.tryAcquire()).toBe(false);
    await expect(lock.acquire({ timeout: 30 })).rejects.toBeInstanceOf(LockTimeoutError);

    holder.process.kill('SIGKILL');
    expect((await holder.exited).signal).toBe('SIGKILL');
    expect(readMarker(markerOf(path)).pid).toBe(holder.process.pid);
    expect(lock.tryAcquire()).toBe(true);
    expect(readMarker(markerOf(path)).pid).toBe(process.pid);
    lock.release();
    expect(names()).toEqual(['a.lock']);
  });

  it('a process that exits without releasing removes its marker on the way out', async () => {
    for (const ending of ['', 'process.exit(3)']) {
      const path = join(dir, 'a.lock');
      const child = startNode(
        `const { FileLock } = require('concurrent-fs/js');
         new FileLock(process.env.LOCK).acquireSync();
         console.log('locked', require('fs').existsSync(process.env.MARKER));
         ${ending}`,
        { LOCK: path, MARKER: markerOf(path) },
      );
      const finished = await child.exited;
      expect(finished.stdout).toBe('locked true\n');
      expect(fs.existsSync(markerOf(path))).toBe(false);
    }
  });

  it('acquireSync blocks in its thread until another process releases', async () => {
    const path = join(dir, 'a.lock');
    const holder = startNode(HOLD, { LOCK: path });
    expect(await holder.nextLine()).toBe('locked');
    const waiter = startNode(
      `const { FileLock } = require('concurrent-fs/js');
       const lock = new FileLock(process.env.LOCK);
       console.log('waiting');
       lock.acquireSync({ timeout: 30000 });
       console.log('got it');`,
      { LOCK: path },
    );
    expect(await waiter.nextLine()).toBe('waiting');
    holder.send('release');
    expect(await holder.nextLine()).toBe('released');
    expect(await waiter.nextLine()).toBe('got it');
    expect((await waiter.exited).code).toBe(0);
    expect(fs.existsSync(markerOf(path))).toBe(false);
  });

  it('an empty marker (torn by a power cut) is left alone while fresh and broken once older than 2 s', () => {
    const path = join(dir, 'a.lock');
    fs.writeFileSync(markerOf(path), '');
    const lock = new FileLock(path);
    expect(lock.tryAcquire()).toBe(false);
    setAge(markerOf(path), 3);
    expect(lock.tryAcquire()).toBe(true);
    expect(readMarker(markerOf(path)).pid).toBe(process.pid);
    lock.release();
  });

  it.each([
    ['a half-written marker', (path: string) => markerOf(path), '{"pid":12'],
    ['a foreign file at the marker path', (path: string) => markerOf(path), 'not a marker'],
    ['a data file used as the lock path', (path: string) => path, '{"balance": 100}'],
  ])('%s is never deleted, however old: ELOCKFOREIGN naming it', (_, where, content) => {
    const path = join(dir, 'a.lock');
    const file = where(path);
    fs.writeFileSync(file, content);
    setAge(file, 3600);
    const lock = new FileLock(path);
    expect(() => lock.tryAcquire()).toThrow(expect.objectContaining({ code: 'ELOCKFOREIGN', path: file }));
    expect(fs.readFileSync(file, 'utf8')).toBe(content);
    expect(lock.isLocked).toBe(false);
  });

  it('a dead owner on this host is stale; on another host it is never broken', () => {
    const path = join(dir, 'a.lock');
    const lock = new FileLock(path);
    plantMarker(markerOf(path), { pid: deadPid(), host: 'elsewhere.example' }, 3600);
    expect(lock.tryAcquire()).toBe(false);
    plantMarker(markerOf(path), { pid: deadPid() }, 0);
    expect(lock.tryAcquire()).toBe(true);
    lock.release();
  });

  it('a marker with our own pid but another start time is a dead process whose pid we reuse', () => {
    const path = join(dir, 'a.lock');
    const lock = new FileLock(path);
    const start = String(ownMarker().start);
    plantMarker(markerOf(path), { start });
    expect(lock.tryAcquire()).toBe(false);
    const otherStart = start.startsWith('proc:') ? 'proc:1' : `ms:${Number(start.slice(3)) - 60_000}`;
    plantMarker(markerOf(path), { start: otherStart });
    expect(lock.tryAcquire()).toBe(true);
    lock.release();
  });

  it.runIf(LINUX)('on Linux, a live pid with another start time, or another boot, is stale', async () => {
    const path = join(dir, 'a.lock');
    const holder = startNode(HOLD, { LOCK: join(dir, 'holder.lock') });
    expect(await holder.nextLine()).toBe('locked');
    const real = readMarker(markerOf(join(dir, 'holder.lock')));
    const lock = new FileLock(path);

    plantMarker(markerOf(path), real);
    expect(lock.tryAcquire()).toBe(false);
    plantMarker(markerOf(path), { ...real, start: 'proc:1' });
    expect(lock.tryAcquire()).toBe(true);
    lock.release();
    plantMarker(markerOf(path), { ...real, boot: 'another-boot' });
    expect(lock.tryAcquire()).toBe(true);
    lock.release();
    // Another PID namespace (a container sharing the hostname): its pids mean nothing here.
    plantMarker(markerOf(path), { pid: deadPid(), pidNs: 'pid:[1]' });
    expect(lock.tryAcquire()).toBe(false);

    holder.process.kill('SIGKILL');
    await holder.exited;
  });

  it('waits while another breaker holds `.break`, and clears a `.break` left by a dead or stalled breaker', () => {
    const path = join(dir, 'a.lock');
    const breaker = join(dir, '..a.lock.js-holder.break');
    const lock = new FileLock(path);
    plantMarker(markerOf(path), { pid: deadPid() });

    plantMarker(breaker, {}, 0);
    expect(lock.tryAcquire()).toBe(false);
    setAge(breaker, 11);
    expect(lock.tryAcquire()).toBe(true);
    lock.release();
    expect(names()).toEqual(['a.lock']);

    plantMarker(markerOf(path), { pid: deadPid() });
    plantMarker(breaker, { pid: deadPid() }, 0);
    expect(lock.tryAcquire()).toBe(true);
    lock.release();
    expect(names()).toEqual(['a.lock']);
  });

  it('release leaves a marker that is no longer ours, and warns', () => {
    const path = join(dir, 'a.lock');
    const lock = new FileLock(path);
    lock.acquireSync();
    plantMarker(markerOf(path), { token: 'someone-else' });
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      lock.release();
      expect(warn).toHaveBeenCalledWith(expect.stringContaining(path), expect.objectContaining({ code: 'CFS_LOCK_LOST' }));
    } finally {
      warn.mockRestore();
    }
    expect(readMarker(markerOf(path)).token).toBe('someone-else');
  });

  it('errors name the lock path: a directory is EISDIR, a missing parent ENOENT', () => {
    fs.mkdirSync(join(dir, 'sub'));
    expect(() => new FileLock(join(dir, 'sub')).tryAcquire()).toThrow(expect.objectContaining({ code: 'EISDIR', path: join(dir, 'sub') }));
    const missing = join(dir, 'missing', 'a.lock');
    expect(() => new FileLock(missing).tryAcquire()).toThrow(expect.objectContaining({ code: 'ENOENT', path: missing }));
    expect(names()).toEqual(['sub']);
  });

  it('racing breakers never both hold: 4 processes take turns breaking stale markers', async () => {
    const path = join(dir, 'a.lock');
    const counter = join(dir, 'counter');
    const rounds = 250;
    fs.writeFileSync(counter, '0');
    plantMarker(markerOf(path), { pid: deadPid() });
    // Each round: spin for the lock (to race as hard as possible), count under an
    // O_EXCL sentinel (overlap throws), then leave a stale marker behind, as a holder
    // that died would, so the next taker must break it.
    const script = `
      const fs = require('fs');
      const { FileLock } = require('concurrent-fs/js');
      const { LOCK, MARKER, COUNTER, SENTINEL, DEAD_PID, ROUNDS } = process.env;
      const lock = new FileLock(LOCK);
      console.log('ready');
      process.stdin.once('data', () => {
        for (let i = 0; i < Number(ROUNDS); i++) {
          while (!lock.tryAcquire());
          fs.writeFileSync(SENTINEL, '', { flag: 'wx' });
          fs.writeFileSync(COUNTER, String(Number(fs.readFileSync(COUNTER, 'utf8')) + 1));
          fs.unlinkSync(SENTINEL);
          const dead = { ...JSON.parse(fs.readFileSync(MARKER, 'utf8')), pid: Number(DEAD_PID), start: 'proc:1', token: 'dead' + i };
          fs.writeFileSync(MARKER + '.' + process.pid, JSON.stringify(dead));
          fs.renameSync(MARKER + '.' + process.pid, MARKER);
          lock.release();
        }
        process.exit(0);
      });`;
    const env = {
      LOCK: path,
      MARKER: markerOf(path),
      COUNTER: counter,
      SENTINEL: join(dir, 'inside'),
      DEAD_PID: String(deadPid()),
      ROUNDS: String(rounds),
    };
    const children = Array.from({ length: 4 }, () => startNode(script, env, ['--no-warnings']));
    for (const child of children) expect(await child.nextLine()).toBe('ready');
    for (const child of children) child.send('go');
    const results = await Promise.all(children.map((child) => child.exited));
    for (const result of results) expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(fs.readFileSync(counter, 'utf8')).toBe(String(4 * rounds));
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
// (helpers/faults.ts runs strace; faults.spec.ts covers every write path of both
// implementations with a path-precise shim.)
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
  const run = runStraced(straceArgs, WRITE_AND_REPORT, env);
  expect(run.code, run.trace.join('\n')).toBe(0);
  return { report: JSON.parse(run.stdout), trace: run.trace };
}

describe.runIf(HAVE_STRACE)('fallback atomic writes under strace', () => {
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
