// `mkdirs`: creating a file's missing parent directories before an atomic write, as
// `fs.mkdir(dir, { recursive: true })` does. A new directory lives in its parent's
// entries, so when the write is to be durable each created directory's parent is
// flushed too: otherwise a power cut can lose the directory, and the file with it.
// (The last directory holds the file: the write's own directory flush covers it.)
import * as fs from 'node:fs';
import { basename, dirname, resolve, sep } from 'node:path';
import type { Durability } from './backend';

const IGNORED = new Set(['EINVAL', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EISDIR']);

/** The directory to create for `path`, or undefined when `path` names no file in one (`f/`, `..`). */
function parentOf(path: string): string | undefined {
  const name = basename(path);
  if (name === '' || name === '.' || name === '..' || path.endsWith('/') || path.endsWith(sep)) return undefined;
  return dirname(path);
}

/**
 * The directories whose entries changed when `first` (the first directory `mkdir`
 * created) through `dir` were created: the parent of each.
 */
function parentsToFlush(first: string, dir: string): string[] {
  const top = resolve(first);
  const chain: string[] = [];
  for (let d = resolve(dir); d !== top && d !== dirname(d); d = dirname(d)) chain.unshift(d);
  return [dirname(top), top, ...chain].slice(0, -1);
}

/** Windows cannot open a directory to flush it; 'none' asks for no flush. */
function flushes(durability: Durability): boolean {
  return durability !== 'none' && process.platform !== 'win32';
}

/** A filesystem that cannot flush a directory is not an error (as for the write itself). */
function unsupported(err: unknown): boolean {
  return IGNORED.has((err as NodeJS.ErrnoException).code ?? '');
}

export function makeParentsSync(path: string, durability: Durability): void {
  const dir = parentOf(path);
  if (dir === undefined) return;
  const first = fs.mkdirSync(dir, { recursive: true });
  if (first === undefined || !flushes(durability)) return;
  for (const parent of parentsToFlush(first, dir)) {
    const fd = fs.openSync(parent, 'r');
    try {
      fs.fsyncSync(fd);
    } catch (err) {
      if (!unsupported(err)) throw err;
    } finally {
      fs.closeSync(fd);
    }
  }
}

export async function makeParents(path: string, durability: Durability): Promise<void> {
  const dir = parentOf(path);
  if (dir === undefined) return;
  const first = await fs.promises.mkdir(dir, { recursive: true });
  if (first === undefined || !flushes(durability)) return;
  for (const parent of parentsToFlush(first, dir)) {
    const handle = await fs.promises.open(parent, 'r');
    try {
      await handle.sync();
    } catch (err) {
      if (!unsupported(err)) throw err;
    } finally {
      await handle.close();
    }
  }
}
