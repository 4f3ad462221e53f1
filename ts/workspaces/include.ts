// Copies of files git does not carry (ignored ones such as `.env`) from the checkout the
// workspaces were opened on into a new workspace, through the Rust core's `cloneFile`:
// reflinked where the filesystem can (FICLONE: the copy shares the blocks until either
// side changes), else `copy_file_range`, else a plain copy; each put in place atomically
// with the source's permission bits. A file the new checkout already has is left alone:
// the workspace's branch wins.
import { lstat, mkdir, readdir, readlink, symlink } from 'node:fs/promises';
import { isAbsolute, join, normalize, sep } from 'node:path';
import type { CopyMethod } from '../backend';
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

/** Atomically replaces `dest` with a copy of `src` (the backend's `cloneFile`). */
export type CloneFile = (src: string, dest: string) => Promise<CopyMethod>;

/** Copies each include from `from` into `to` with `clone`; a missing source is skipped. */
export async function copyIncludes(from: string, to: string, includes: readonly string[], clone: CloneFile): Promise<IncludeReport> {
  const report: IncludeReport = { copied: 0, bytes: 0 };
  for (const relative of includes) await copyEntry(join(from, relative), join(to, relative), clone, report);
  return report;
}

/** lstat, or undefined when there is nothing at `path`. */
async function lstatIfAny(path: string) {
  return lstat(path).catch((err: unknown) => {
    if (isSystemError(err, 'ENOENT')) return undefined;
    throw err;
  });
}

async function copyEntry(src: string, dst: string, clone: CloneFile, report: IncludeReport): Promise<void> {
  const info = await lstatIfAny(src);
  if (!info) return;
  if (info.isDirectory()) {
    await mkdir(dst, { recursive: true });
    for (const entry of await readdir(src)) await copyEntry(join(src, entry), join(dst, entry), clone, report);
    return;
  }
  if (!info.isFile() && !info.isSymbolicLink()) return; // sockets, fifos: nothing to copy
  // cloneFile replaces its target, so what the checkout has is looked for first. Nothing
  // else writes here meanwhile: the workspace is new and its lease is ours.
  if (await lstatIfAny(dst)) return;
  await mkdir(join(dst, '..'), { recursive: true });
  if (info.isSymbolicLink()) {
    try {
      await symlink(await readlink(src), dst);
    } catch (err) {
      if (isSystemError(err, 'EEXIST')) return;
      throw err;
    }
  } else {
    await clone(src, dst);
  }
  report.copied++;
  report.bytes += info.size;
}
