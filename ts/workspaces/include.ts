// Copies of files git does not carry (ignored ones such as `.env`) from the checkout the
// workspaces were opened on into a new workspace, reflinked where the filesystem can
// (FICLONE: the copy shares the blocks until either side changes), a plain copy elsewhere.
// A file the new checkout already has is left alone: the workspace's branch wins.
import { constants } from 'node:fs';
import { copyFile, lstat, mkdir, readdir, readlink, symlink } from 'node:fs/promises';
import { isAbsolute, join, normalize, sep } from 'node:path';
import { invalidArgType, invalidArgValue, isSystemError } from '../errors';

/** The include list, each a relative path inside the checkout; checked before anything is touched. */
export function toIncludes(value: unknown, label = 'options.include'): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalidArgType(label, 'an array of relative paths', value);
  return value.map((entry, i) => {
    if (typeof entry !== 'string') throw invalidArgType(`${label}[${i}]`, 'of type string', entry);
    const path = normalize(entry);
    if (entry === '' || isAbsolute(entry) || path === '..' || path.startsWith(`..${sep}`) || entry.includes('\0')) {
      throw invalidArgValue(`${label}[${i}]`, entry, 'must be a relative path inside the repository');
    }
    return path;
  });
}

/** What one `copyIncludes` did. */
export interface IncludeReport {
  copied: number;
  bytes: number;
}

/** Copies each include from `from` into `to`; a missing source is skipped. */
export async function copyIncludes(from: string, to: string, includes: readonly string[]): Promise<IncludeReport> {
  const report: IncludeReport = { copied: 0, bytes: 0 };
  for (const relative of includes) await copyEntry(join(from, relative), join(to, relative), report);
  return report;
}

async function copyEntry(src: string, dst: string, report: IncludeReport): Promise<void> {
  const info = await lstat(src).catch((err: unknown) => {
    if (isSystemError(err, 'ENOENT')) return undefined;
    throw err;
  });
  if (!info) return;
  if (info.isDirectory()) {
    await mkdir(dst, { recursive: true });
    for (const entry of await readdir(src)) await copyEntry(join(src, entry), join(dst, entry), report);
    return;
  }
  await mkdir(join(dst, '..'), { recursive: true });
  try {
    if (info.isSymbolicLink()) await symlink(await readlink(src), dst);
    else if (info.isFile()) await copyFile(src, dst, constants.COPYFILE_FICLONE | constants.COPYFILE_EXCL);
    else return; // sockets, fifos: nothing to copy
  } catch (err) {
    if (isSystemError(err, 'EEXIST')) return;
    throw err;
  }
  report.copied++;
  report.bytes += info.size;
}
