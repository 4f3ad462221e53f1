// cloneFile (internal, for the workspaces' `include` copies): a copy put in place
// atomically, reflinked where the filesystem can, for the native core and the pure-JS
// fallback. The reflink path runs on an XFS image mounted for the test (root only).
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFixture } from './helpers/spawn';
import { names, tempDir } from './helpers/tmp';

type Backend = import('../ts/backend').Backend;
type CopyMethod = import('../ts/backend').CopyMethod;

const { cloneFile } = require('../dist/clone-file.js') as typeof import('../ts/clone-file');
const { loadNativeBackend } = require('../dist/native/backend.js') as typeof import('../ts/native/backend');
const { jsBackend } = require('../dist/js/backend.js') as typeof import('../ts/js/backend');

const BACKENDS: [string, Backend][] = [
  ['native', loadNativeBackend()],
  ['js', jsBackend],
];
const METHODS: CopyMethod[] = ['reflink', 'copy-range', 'copy'];
const UNIX = process.platform !== 'win32';

/** Whether coreutils' cp can reflink in `dir`: the oracle for what cloneFile should do there. */
function cpCanReflink(dir: string): boolean | undefined {
  if (process.platform !== 'linux') return undefined;
  writeFileSync(join(dir, '.probe'), 'probe');
  const cp = spawnSync('cp', ['--reflink=always', join(dir, '.probe'), join(dir, '.probe-copy')]);
  rmSync(join(dir, '.probe'), { force: true });
  rmSync(join(dir, '.probe-copy'), { force: true });
  return cp.error ? undefined : cp.status === 0;
}

for (const [impl, backend] of BACKENDS) {
  describe(`cloneFile (${impl})`, () => {
    it('copies every byte (empty, small, 3 MiB) and leaves no temp file', async () => {
      const dir = tempDir('clone');
      for (const [name, data] of [
        ['empty', Buffer.alloc(0)],
        ['small', Buffer.from('KEY=value\n')],
        ['big', randomBytes(3 << 20)],
      ] as const) {
        writeFileSync(join(dir, name), data);
        const method = await cloneFile(backend, join(dir, name), join(dir, `${name}.copy`));
        expect(METHODS).toContain(method);
        expect(readFileSync(join(dir, `${name}.copy`)).equals(data)).toBe(true);
      }
      expect(names(dir)).toEqual(['big', 'big.copy', 'empty', 'empty.copy', 'small', 'small.copy']);
    });

    it('reflinks exactly where cp --reflink=always can (here: /tmp), else falls back to a copy', async () => {
      const dir = tempDir('clone-where');
      const canReflink = cpCanReflink(dir);
      writeFileSync(join(dir, 'src'), randomBytes(64 << 10));
      const method = await cloneFile(backend, join(dir, 'src'), join(dir, 'dest'));
      console.log(`${impl}: cloneFile in ${tmpdir()}: ${method} (cp --reflink=always: ${canReflink})`);
      if (canReflink !== undefined) expect(method === 'reflink').toBe(canReflink);
      expect(readFileSync(join(dir, 'dest')).equals(readFileSync(join(dir, 'src')))).toBe(true);
    });

    it.skipIf(!UNIX)("keeps the source's permission bits, replacing a file with other bits", async () => {
      const dir = tempDir('clone-mode');
      writeFileSync(join(dir, 'dest'), 'old');
      chmodSync(join(dir, 'dest'), 0o600);
      for (const mode of [0o751, 0o604]) {
        writeFileSync(join(dir, 'src'), `mode ${mode}`);
        chmodSync(join(dir, 'src'), mode);
        await cloneFile(backend, join(dir, 'src'), join(dir, 'dest'), { durability: 'none' });
        expect((statSync(join(dir, 'dest')).mode & 0o7777).toString(8)).toBe(mode.toString(8));
        expect(readFileSync(join(dir, 'dest'), 'utf8')).toBe(`mode ${mode}`);
      }
    });

    it.skipIf(!UNIX)('follows a symlinked source like cp, and writes through a symlinked destination', async () => {
      const dir = tempDir('clone-links');
      writeFileSync(join(dir, 'real.env'), 'SECRET=1\n');
      symlinkSync('real.env', join(dir, '.env'));
      writeFileSync(join(dir, 'real-dest'), 'old');
      symlinkSync('real-dest', join(dir, 'dest-link'));
      await cloneFile(backend, join(dir, '.env'), join(dir, 'dest-link'));
      expect(readFileSync(join(dir, 'real-dest'), 'utf8')).toBe('SECRET=1\n');
      expect(names(dir)).toEqual(['.env', 'dest-link', 'real-dest', 'real.env']);
    });

    it('replaces the destination atomically: a reader process sees the old or the new content, never a part, never nothing', async () => {
      const dir = tempDir('clone-atomic');
      const [a, b] = [join(dir, 'a'), join(dir, 'b')];
      writeFileSync(a, randomBytes(256 << 10));
      writeFileSync(b, randomBytes(300 << 10));
      const dest = join(dir, 'dest');
      writeFileSync(dest, readFileSync(a));
      const reader = startFixture('clone-reader.cjs', [dest, a, b]);
      expect(await reader.nextLine()).toBe('ready');
      for (let i = 0; i < 200; i++) await cloneFile(backend, i % 2 ? a : b, dest, { durability: 'none' });
      reader.send('stop');
      const seen = JSON.parse(await reader.nextLine()) as { reads: number; torn: number; missing: number };
      console.log(`${impl}: 200 replacements, reader: ${JSON.stringify(seen)}`);
      expect(seen).toMatchObject({ torn: 0, missing: 0 });
      expect(seen.reads).toBeGreaterThan(1);
      expect(names(dir)).toEqual(['a', 'b', 'dest']);
    });

    it('errors name the path they are about, with code and syscall, and leave the destination alone', async () => {
      const dir = tempDir('clone-errors');
      const dest = join(dir, 'dest');
      writeFileSync(dest, 'keep me');
      writeFileSync(join(dir, 'src'), 'x');
      mkdirSync(join(dir, 'a-dir'));
      const cases: [string, string, Record<string, string>][] = [
        [join(dir, 'missing'), dest, { code: 'ENOENT', path: join(dir, 'missing') }],
        [join(dir, 'a-dir'), dest, { code: 'EISDIR', syscall: 'open', path: join(dir, 'a-dir') }],
        [join(dir, 'src'), join(dir, 'no-dir', 'dest'), { code: 'ENOENT', path: join(dir, 'no-dir', 'dest') }],
        [join(dir, 'src'), join(dir, 'a-dir'), { code: 'EISDIR', path: join(dir, 'a-dir') }],
      ];
      for (const [src, to, expected] of cases) {
        const err = await cloneFile(backend, src, to).catch((e: unknown) => e);
        expect(err, `${src} -> ${to}`).toMatchObject(expected);
        expect(typeof (err as { syscall?: unknown }).syscall).toBe('string');
        expect((err as Error).message).toContain(expected.path);
      }
      expect(readFileSync(dest, 'utf8')).toBe('keep me');
      expect(names(dir)).toEqual(['a-dir', 'dest', 'src']);
    });

    it('bad arguments are rejected with Node-style codes before any file is touched', async () => {
      const dir = tempDir('clone-args');
      writeFileSync(join(dir, 'src'), 'x');
      const src = join(dir, 'src');
      const dest = join(dir, 'dest');
      const bad: [unknown[], string][] = [
        [[undefined, dest], 'ERR_INVALID_ARG_TYPE'],
        [[src, 42], 'ERR_INVALID_ARG_TYPE'],
        [['', dest], 'ERR_INVALID_ARG_VALUE'],
        [[src, `${dest}\0x`], 'ERR_INVALID_ARG_VALUE'],
        [[src, dest, { durability: 'sometimes' }], 'ERR_INVALID_ARG_VALUE'],
        [[src, dest, 'full'], 'ERR_INVALID_ARG_TYPE'],
      ];
      for (const [args, code] of bad) {
        await expect(cloneFile(backend, ...(args as [unknown, unknown, unknown])), JSON.stringify(args)).rejects.toMatchObject({ code });
      }
      expect(names(dir)).toEqual(['src']);
    });
  });
}

/** Why an XFS image with reflinks cannot be mounted here, or undefined when it can. */
function xfsMissing(): string | undefined {
  if (process.platform !== 'linux') return 'the XFS image needs Linux';
  if (process.getuid?.() !== 0) return 'mounting a loop image needs root';
  if (spawnSync('mkfs.xfs', ['-V']).error) return 'mkfs.xfs (xfsprogs) is not installed';
  return undefined;
}

const XFS_MISSING = xfsMissing();
if (XFS_MISSING && process.env.CI !== 'true') console.warn(`skipping 'cloneFile on XFS': ${XFS_MISSING}`);

describe.skipIf(XFS_MISSING && process.env.CI !== 'true')('cloneFile on XFS (reflink=1, a loop image)', () => {
  let mount: string | undefined;
  let why = '';
  const work = mkdtempSync(join(tmpdir(), 'cfs-xfs-'));

  beforeAll(() => {
    if (XFS_MISSING) throw new Error(`CI=true and ${XFS_MISSING}: .ci/run should have installed it`);
    const image = join(work, 'xfs.img');
    // 300 MiB is XFS's smallest; the file is sparse, a few MiB on disk.
    writeFileSync(image, '');
    spawnSync('truncate', ['-s', '320M', image]);
    const mkfs = spawnSync('mkfs.xfs', ['-q', '-m', 'reflink=1', image], { encoding: 'utf8' });
    const point = join(work, 'mnt');
    mkdirSync(point);
    const mounted = mkfs.status === 0 && spawnSync('mount', ['-o', 'loop', image, point], { encoding: 'utf8' });
    if (mounted && mounted.status === 0) mount = point;
    else why = `mount -o loop was refused: ${mounted ? mounted.stderr.trim() : mkfs.stderr.trim()}`;
  });

  afterAll(() => {
    if (mount) spawnSync('umount', ['-l', mount]);
    rmSync(work, { recursive: true, force: true });
  });

  for (const [impl, backend] of BACKENDS) {
    it(`${impl}: the copy is a reflink (shared extents), byte-identical, and writing it leaves the source as it was`, async (ctx) => {
      if (!mount) return ctx.skip(why);
      const dir = join(mount, impl);
      mkdirSync(dir);
      const data = randomBytes(1 << 20);
      writeFileSync(join(dir, 'src'), data);
      const method = await cloneFile(backend, join(dir, 'src'), join(dir, '.env'));
      expect(method).toBe('reflink');
      expect(readFileSync(join(dir, '.env')).equals(data)).toBe(true);
      const frag = spawnSync('filefrag', ['-v', join(dir, '.env')], { encoding: 'utf8' });
      if (!frag.error) expect(frag.stdout).toContain('shared');
      writeFileSync(join(dir, '.env'), 'changed');
      expect(readFileSync(join(dir, 'src')).equals(data)).toBe(true);
      expect(existsSync(join(dir, 'src'))).toBe(true);
    });
  }
});
