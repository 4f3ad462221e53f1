// Which file a path names, as the kernel decides it: the directory physically (realpath),
// then a symlink in the last component followed hop by hop, each target read relative to
// the directory the link is in, never normalised as text (`a-link/..` is the parent of
// where a-link points). Whatever locks a sidecar locks the sidecar of this file, so a
// symlink and its target share one lock.
import { readlinkSync, realpathSync } from 'node:fs';
import { readlink, realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, sep } from 'node:path';
import { systemError } from './errors';

/** Linux's MAXSYMLINKS: how many links `open` follows before it fails with ELOOP. */
export const MAX_SYMLINK_HOPS = 40;

/**
 * The path of the file `path` resolves to: its directory made real, and a final symlink
 * followed to the file it names, which need not exist (a dangling link names its
 * target). When the path cannot be resolved (no such directory, not a file name, no
 * permission), it is returned as given: the operation on it then fails with the error
 * Node's `fs` gives for it. More than 40 hops rejects with ELOOP naming `path`.
 */
export async function resolveFile(path: string): Promise<string> {
  let current = path;
  for (let hop = 0; hop <= MAX_SYMLINK_HOPS; hop++) {
    const file = await inRealDirectory(current);
    if (file === undefined) return hop === 0 ? path : await realOr(current, path);
    const target = await linkTarget(file);
    if (target === undefined) return file;
    current = nextHop(file, target);
  }
  throw tooManyLinks(path);
}

/** `resolveFile`, blocking: for the few callers that must decide synchronously. */
export function resolveFileSync(path: string): string {
  let current = path;
  for (let hop = 0; hop <= MAX_SYMLINK_HOPS; hop++) {
    const file = inRealDirectorySync(current);
    if (file === undefined) return hop === 0 ? path : realOrSync(current, path);
    const target = linkTargetSync(file);
    if (target === undefined) return file;
    current = nextHop(file, target);
  }
  throw tooManyLinks(path);
}

/**
 * A link that points to `..`, `.` or `dir/` names a directory, not a file in one: the
 * kernel resolves it whole. Its real path, or `path` as given when it names nothing.
 */
async function realOr(current: string, path: string): Promise<string> {
  try {
    return await realpath(current);
  } catch {
    return path;
  }
}

function realOrSync(current: string, path: string): string {
  try {
    return realpathSync.native(current);
  } catch {
    return path;
  }
}

/** Where a link at `file` pointing to `target` leads, joined without normalising: the
 * kernel resolves `..` after following links. */
function nextHop(file: string, target: string): string {
  return isAbsolute(target) ? target : `${dirname(file)}${sep}${target}`;
}

/** Node's ELOOP, as `open` reports a link cycle or a symlink refused by O_NOFOLLOW. */
export function tooManyLinks(path: string) {
  return systemError({ code: 'ELOOP', syscall: 'open', path, message: `ELOOP: too many symbolic links encountered, open '${path}'` });
}

/** `f/`, `f/.` and `..` do not name a file in a directory: left to the caller's fs call. */
function notAFileName(path: string, name: string): boolean {
  return name === '' || name === '.' || name === '..' || path.endsWith('/') || path.endsWith(sep);
}

/** `path` with its directory replaced by the real one, or undefined when that fails. */
async function inRealDirectory(path: string): Promise<string | undefined> {
  const name = basename(path);
  if (notAFileName(path, name)) return undefined;
  try {
    return join(await realpath(dirname(path)), name);
  } catch {
    return undefined;
  }
}

function inRealDirectorySync(path: string): string | undefined {
  const name = basename(path);
  if (notAFileName(path, name)) return undefined;
  try {
    return join(realpathSync.native(dirname(path)), name);
  } catch {
    return undefined;
  }
}

function linkTargetSync(file: string): string | undefined {
  try {
    return readlinkSync(file);
  } catch {
    return undefined;
  }
}

/** The link's target, or undefined when `file` is not a symlink (or does not exist). */
async function linkTarget(file: string): Promise<string | undefined> {
  try {
    return await readlink(file);
  } catch {
    return undefined;
  }
}
