// Reading and writing a file without following a symlink at its name, for the store's
// documents: a link planted in the store's directory must not redirect a read or an
// update to a file outside it. The refusal is ELOOP, the code `open(O_NOFOLLOW)` gives.
import { constants } from 'node:fs';
import { lstat, readFile } from 'node:fs/promises';
import { isSystemError } from './errors';
import { tooManyLinks } from './resolve';

/** Absent on Windows, where an lstat check stands in for it. */
const O_NOFOLLOW: number | undefined = constants.O_NOFOLLOW;

/** The file's bytes, or null when nothing is at `path`; ELOOP when a symlink is. */
export async function readIfExistsNoFollow(path: string): Promise<Buffer | null> {
  try {
    if (O_NOFOLLOW === undefined) await refuseSymlink(path);
    return await readFile(path, { flag: constants.O_RDONLY | (O_NOFOLLOW ?? 0) });
  } catch (err) {
    if (isSystemError(err, 'ENOENT')) return null;
    throw err;
  }
}

/**
 * Rejects with ELOOP when `path` is a symlink. Run just before writing: an atomic write
 * follows a link at its target name, and the store's documents must never be followed.
 * (A link planted between this check and the write's own look at the name would still
 * be followed; closing that window needs a no-follow atomic write.)
 */
export async function refuseSymlink(path: string): Promise<void> {
  let isLink: boolean;
  try {
    isLink = (await lstat(path)).isSymbolicLink();
  } catch (err) {
    if (isSystemError(err, 'ENOENT')) return;
    throw err;
  }
  if (isLink) throw tooManyLinks(path);
}
