// Which file a path names (ts/resolve.ts), against the kernel, with generated trees of
// symlinks (relative, absolute, through `..`, dangling, in cycles) and generated paths
// through them (`.`, `..`, trailing slashes, empty segments). The nested-withLock check
// and every sidecar lock rely on this: if resolveFileSync named another file than the
// kernel opens, two names of one lock file could be held at once in one process.
// `FC_SEED=<seed> FC_RUNS=<n>` replays or deepens a run.
import { execFileSync } from 'node:child_process';
import { mkdirSync, realpathSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resolveFile, resolveFileSync } from '../dist/resolve.js';
import { tempDir } from './helpers/tmp';

const SEED = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED);
const RUNS = Number(process.env.FC_RUNS ?? 400);
const params = { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }) };

const DIRS = ['a', 'a/b', 'c'];
const FILES = ['f', 'a/g', 'a/b/h'];
const LINKS = ['l0', 'a/l1', 'a/b/l2', 'c/l3'];
/** Names a link may point to, read relative to the link's directory (or absolute, below). */
const TARGET = fc.constantFrom(
  ...['f', 'g', 'h', 'a', 'b', 'a/b', '..', '.', '../f', '../a/g', 'b/h', 'missing', 'a/missing', 'f/'],
  ...['l0', 'l1', 'l2', 'l3', '../l0', 'b/l2', '../c/l3'],
  // A link followed by `..` is the parent of where the link points, not the link's own
  // directory: text normalising would get these wrong.
  ...['l0/..', 'l1/../g', '../l3/..', 'b/l2/../h', 'l3/../f', '../c/l3/../g', 'a/l1/../f', 'a/b/l2/..', 'c/l3/../g', 'l2/../h'],
);
const SEGMENT = fc.constantFrom('a', 'b', 'c', 'f', 'g', 'h', 'l0', 'l1', 'l2', 'l3', 'missing', '.', '..', '');

interface Case {
  targets: { target: string; absolute: boolean }[];
  paths: { segments: string[]; trailingSlash: boolean }[];
}

const cases: fc.Arbitrary<Case> = fc.record({
  targets: fc.array(fc.record({ target: TARGET, absolute: fc.boolean() }), { minLength: LINKS.length, maxLength: LINKS.length }),
  paths: fc.array(fc.record({ segments: fc.array(SEGMENT, { minLength: 1, maxLength: 5 }), trailingSlash: fc.boolean() }), {
    minLength: 1,
    maxLength: 8,
  }),
});

/** A fresh tree of the fixed directories and files, and the case's links. */
function build(root: string, c: Case): void {
  for (const dir of DIRS) mkdirSync(join(root, dir), { recursive: true });
  for (const file of FILES) writeFileSync(join(root, file), file);
  LINKS.forEach((link, i) => {
    const { target, absolute } = c.targets[i] ?? { target: 'f', absolute: false };
    symlinkSync(absolute ? join(root, target) : target, join(root, link));
  });
}

/** The error code of `fn`, or undefined when it does not throw. */
function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? String(err);
  }
}

/** What the kernel says of `path`, and that resolveFileSync agrees with it. */
function checkAgainstKernel(path: string): void {
  let resolved: string;
  try {
    resolved = resolveFileSync(path);
  } catch (err) {
    // Only a link cycle in the last component may throw, and then the kernel refuses too.
    expect((err as NodeJS.ErrnoException).code).toBe('ELOOP');
    expect(codeOf(() => statSync(path))).toBe('ELOOP');
    return;
  }
  const statCode = codeOf(() => statSync(path));
  if (notAFileName(path)) {
    // `f/`, `d/.`, `d/..`: no file in a directory; left to the caller's fs call as given.
    expect(resolved).toBe(path);
    return;
  }
  if (statCode === undefined) {
    // The path names something: it is the file the kernel opens, by its real path.
    expect(resolved).toBe(realpathSync.native(path));
    return;
  }
  // The path names nothing: what it resolves to fails the same way (or is the path itself).
  expect(codeOf(() => statSync(resolved))).toBe(statCode);
  if (statCode !== 'ENOENT' || resolved === path) return;
  // A dangling name: creating the file it names makes the path name that file.
  if (codeOf(() => writeFileSync(resolved, 'created', { flag: 'wx' })) !== undefined) return;
  try {
    expect(realpathSync.native(path)).toBe(resolved);
  } finally {
    unlinkSync(resolved);
  }
}

function notAFileName(path: string): boolean {
  const last = path.split('/').at(-1);
  return last === '' || last === '.' || last === '..';
}

describe('resolveFile / resolveFileSync: the file the kernel opens', () => {
  it('agree with each other and with the kernel on generated symlink trees and paths', async () => {
    const base = realpathSync.native(tempDir('resolve'));
    let n = 0;
    await fc.assert(
      fc.asyncProperty(cases, async (c) => {
        const root = join(base, `t${n++}`);
        mkdirSync(root);
        try {
          build(root, c);
          for (const { segments, trailingSlash } of c.paths) {
            const path = `${root}/${segments.join('/')}${trailingSlash ? '/' : ''}`;
            const sync = (() => {
              try {
                return { value: resolveFileSync(path) };
              } catch (err) {
                return { code: (err as NodeJS.ErrnoException).code };
              }
            })();
            const async = await resolveFile(path).then(
              (value) => ({ value }),
              (err: NodeJS.ErrnoException) => ({ code: err.code }),
            );
            expect(async).toEqual(sync);
            checkAgainstKernel(path);
          }
        } finally {
          rmSync(root, { recursive: true, force: true });
        }
      }),
      params,
    );
  });

  it('a link cycle in the last component is ELOOP naming the path; a trailing slash is left as given; a link to .. is the parent; a FIFO is named, not opened', () => {
    const root = realpathSync.native(tempDir('resolve'));
    symlinkSync('y', join(root, 'x'));
    symlinkSync('x', join(root, 'y'));
    const loop = join(root, 'x');
    expect(() => resolveFileSync(loop)).toThrow(expect.objectContaining({ code: 'ELOOP', path: loop }));
    writeFileSync(join(root, 'f'), '');
    expect(resolveFileSync(`${root}/f/`)).toBe(`${root}/f/`);
    expect(resolveFileSync(`${root}/missing-dir/f`)).toBe(`${root}/missing-dir/f`);
    // A link to `..` names the real parent directory, as the kernel resolves it.
    mkdirSync(join(root, 'sub'));
    symlinkSync('..', join(root, 'sub', 'up'));
    expect(resolveFileSync(join(root, 'sub', 'up'))).toBe(root);
    // A FIFO is named, never opened (opening one would block until a writer came).
    execFileSync('mkfifo', [join(root, 'fifo')]);
    symlinkSync('fifo', join(root, 'to-fifo'));
    expect(resolveFileSync(join(root, 'to-fifo'))).toBe(join(root, 'fifo'));
  });
});
