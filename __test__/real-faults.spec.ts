// Real faults, not injected ones: a full filesystem (a 1 MiB tmpfs, and one out of
// inodes), a directory the writer may not write (as uid 65534: root ignores modes), and
// a read-only mount. Mounting needs root with CAP_SYS_ADMIN; where it is refused the
// tests skip, saying so.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AS_NOBODY, packageRootForNobody } from './helpers/as-nobody';
import { IMPLEMENTATIONS, load } from './helpers/impls';
import { ROOT, runSync, stdoutOf } from './helpers/spawn';
import { names } from './helpers/tmp';

const LINUX = process.platform === 'linux';
const IS_ROOT = process.getuid?.() === 0;
const mounts: string[] = [];
const made: string[] = [];

function scratch(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `cfs-${label}-`));
  made.push(dir);
  return dir;
}

/** Mounts with `args` on a fresh directory; undefined when mount is refused here. */
function mountAt(label: string, ...args: string[]): string | undefined {
  const point = scratch(label);
  const run = spawnSync('mount', [...args, point], { encoding: 'utf8' });
  if (run.status !== 0) return undefined;
  mounts.push(point);
  return point;
}

afterAll(() => {
  for (const point of mounts.reverse()) spawnSync('umount', ['-l', point]);
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** Probes once whether this machine lets the tests mount a tmpfs. */
const CAN_MOUNT = ((): string | undefined => {
  if (!LINUX || !IS_ROOT) return 'mounting a tmpfs needs root on Linux';
  const probe = mountAt('probe', '-t', 'tmpfs', '-o', 'size=64k', 'tmpfs');
  if (!probe) return 'mount -t tmpfs was refused (no CAP_SYS_ADMIN?)';
  return undefined;
})();

/** Runs fixtures/fault-child.cjs behind `wrapper` (e.g. setpriv); its JSON report. */
function child(wrapper: readonly string[], impl: string, op: string, target: string): Record<string, unknown> {
  // Another user may not reach this checkout (a private parent directory): it loads a copy.
  const root = wrapper.length > 0 ? packageRootForNobody() : ROOT;
  const fixture = join(root, '__test__', 'fixtures', 'fault-child.cjs');
  const run = runSync([...wrapper, process.execPath, fixture, impl, op, target], { cwd: root });
  return JSON.parse(stdoutOf(run, 'child').trim().split('\n').at(-1)!);
}

const OPS = ['atomicWriteSync', 'atomicWrite', 'openAtomic', 'createExclusive', 'writeIfVersion'];

describe.skipIf(CAN_MOUNT)('a full filesystem (1 MiB tmpfs)', () => {
  describe.each(IMPLEMENTATIONS)('%s', (impl) => {
    const cfs = load(impl);

    it.each(['sync', 'async'])('%s: ENOSPC, the old file intact, no temp; the same write succeeds once space is freed', async (api) => {
      const dir = mountAt('enospc', '-t', 'tmpfs', '-o', 'size=1m', 'tmpfs')!;
      const target = join(dir, 'data.bin');
      const old = Buffer.alloc(100 * 1024, 'o');
      writeFileSync(target, old);
      writeFileSync(join(dir, 'filler'), Buffer.alloc(700 * 1024, 'f'));
      const next = Buffer.alloc(400 * 1024, 'n');
      const write = () =>
        api === 'sync' ? Promise.resolve().then(() => cfs.atomicWriteSync(target, next)) : cfs.atomicWrite(target, next);

      await expect(write()).rejects.toMatchObject({ code: 'ENOSPC', path: target });
      expect(readFileSync(target).equals(old)).toBe(true);
      expect(names(dir)).toEqual(['data.bin', 'filler']);

      unlinkSync(join(dir, 'filler'));
      await write();
      expect(readFileSync(target).equals(next)).toBe(true);
      expect(names(dir)).toEqual(['data.bin']);
    });

    it('out of inodes: the temp file cannot be created (ENOSPC), then can once one is freed', async () => {
      // nr_inodes=3: the root directory and two files.
      const dir = mountAt('inodes', '-t', 'tmpfs', '-o', 'size=1m,nr_inodes=3', 'tmpfs')!;
      const target = join(dir, 'data.json');
      writeFileSync(target, 'old');
      writeFileSync(join(dir, 'other'), '');
      await expect(cfs.atomicWrite(target, 'new')).rejects.toMatchObject({ code: 'ENOSPC', path: target });
      expect(() => cfs.atomicWriteSync(target, 'new')).toThrow(expect.objectContaining({ code: 'ENOSPC' }));
      expect(readFileSync(target, 'utf8')).toBe('old');
      expect(names(dir)).toEqual(['data.json', 'other']);
      unlinkSync(join(dir, 'other'));
      await cfs.atomicWrite(target, 'new');
      expect(readFileSync(target, 'utf8')).toBe('new');
      expect(names(dir)).toEqual(['data.json']);
    });
  });
});

describe.skipIf(!LINUX || !IS_ROOT)('a directory the writer may not write (EACCES, as uid 65534)', () => {
  it.each(IMPLEMENTATIONS.flatMap((impl) => OPS.map((op) => ({ impl, op }))))(
    '$impl $op: EACCES, nothing changed, no fd leaked',
    ({ impl, op }) => {
      const base = scratch('eacces');
      chmodSync(base, 0o755); // traversable by uid 65534, writable by root only
      const dir = join(base, 'd');
      mkdirSync(dir, { mode: 0o755 });
      const target = join(dir, 'data.json');
      if (op !== 'createExclusive') writeFileSync(target, 'old');
      const result = child(AS_NOBODY, impl, op, target);
      expect(result).toMatchObject({ ok: false, code: 'EACCES', leaked: [] });
      expect(names(dir)).toEqual(op === 'createExclusive' ? [] : ['data.json']);
      if (op !== 'createExclusive') expect(readFileSync(target, 'utf8')).toBe('old');
    },
  );
});

describe.skipIf(CAN_MOUNT)('a read-only mount (EROFS)', () => {
  it.each(IMPLEMENTATIONS.flatMap((impl) => OPS.map((op) => ({ impl, op }))))(
    '$impl $op: EROFS, nothing changed, no fd leaked',
    ({ impl, op }) => {
      const source = scratch('rw');
      if (op !== 'createExclusive') writeFileSync(join(source, 'data.json'), 'old');
      const dir = mountAt('ro', '--bind', source);
      expect(dir).toBeDefined();
      const remount = spawnSync('mount', ['-o', 'remount,bind,ro', dir!]);
      expect(remount.status).toBe(0);
      const target = join(dir!, 'data.json');
      const result = child([], impl, op, target);
      expect(result).toMatchObject({ ok: false, code: 'EROFS', leaked: [] });
      expect(names(source)).toEqual(op === 'createExclusive' ? [] : ['data.json']);
      if (op !== 'createExclusive') expect(readFileSync(target, 'utf8')).toBe('old');
    },
  );
});

if (CAN_MOUNT) it.skip(`real ENOSPC and EROFS: skipped, ${CAN_MOUNT}`, () => {});
