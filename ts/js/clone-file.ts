// The fallback's cloneFile: `fs.copyFile` with COPYFILE_FICLONE_FORCE into a fresh temp
// file next to the target (a clone where the filesystem can), else a plain
// `fs.copyFile` (libuv's: copy_file_range or sendfile on Linux, which it does not
// report, hence `'copy'`); then the steps of every atomic write (atomic/async.ts):
// permissions and flush before the rename, the directory flushed after it.
import * as fs from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type { CopyMethod, Durability } from '../backend';
import { systemError } from '../errors';
import { flush, openDirectory, syncDirectory } from './atomic/durability';
import { applyPermissions } from './atomic/permissions';
import { replace } from './atomic/replace';
import { resolveTarget } from './atomic/target';
import { removeQuietlyAsync, tempPathFor } from './atomic/temp-file';
import { hasCode, naming } from './fs-error';

const { COPYFILE_EXCL, COPYFILE_FICLONE_FORCE } = fs.constants;

/** What a failed forced clone says when the filesystem (or the pair) cannot clone. */
const CANNOT_CLONE = ['ENOTSUP', 'EOPNOTSUPP', 'EXDEV', 'EINVAL', 'ENOSYS', 'ENOTTY', 'EBADF', 'EPERM'];

const ignore = () => undefined;

export async function cloneFile(src: string, dest: string, durability: Durability): Promise<CopyMethod> {
  const mode = await sourceMode(src);
  const target = await resolveTarget(dest, true);
  const dir = await openDirectory(target.path, dest, durability);
  let temp: string | undefined;
  let method: CopyMethod;
  try {
    ({ temp, method } = await copyToTemp(src, target.path, dest));
    const file = await fs.promises.open(temp, 'r+');
    await finish(file, () => applyPermissions(file, target.existing, mode).then(() => flush(file, durability)));
    await replace(temp, target.path, false);
    temp = undefined;
  } catch (err) {
    if (temp !== undefined) await removeQuietlyAsync(temp);
    await dir?.close().catch(ignore);
    throw naming(err, dest);
  }
  try {
    if (dir) await syncDirectory(dir, dest);
  } finally {
    await dir?.close().catch(ignore);
  }
  return method;
}

/** The source's permission bits; a symlink is followed, anything but a file refused. */
async function sourceMode(src: string): Promise<number> {
  let stat: fs.Stats;
  try {
    stat = await fs.promises.stat(src);
  } catch (err) {
    throw naming(err, src, false, 'open');
  }
  if (stat.isDirectory()) throw systemError({ code: 'EISDIR', syscall: 'open', path: src });
  if (!stat.isFile()) throw systemError({ code: 'EINVAL', syscall: 'open', path: src });
  return stat.mode & 0o7777;
}

/** Copies `src` to a new temp name next to `target`: a forced clone first, else a copy. */
async function copyToTemp(src: string, target: string, dest: string): Promise<{ temp: string; method: CopyMethod }> {
  let method: CopyMethod = 'reflink';
  for (;;) {
    const temp = tempPathFor(target);
    try {
      await fs.promises.copyFile(src, temp, COPYFILE_EXCL | (method === 'reflink' ? COPYFILE_FICLONE_FORCE : 0));
      return { temp, method };
    } catch (err) {
      await removeQuietlyAsync(temp);
      if (hasCode(err, 'EEXIST')) continue; // someone's temp name: take another
      if (method === 'reflink' && hasCode(err, ...CANNOT_CLONE)) {
        method = 'copy';
        continue;
      }
      throw await copyError(err, src, dest);
    }
  }
}

/** A failed copy names the source if the source is what went missing, else `dest`. */
async function copyError(err: unknown, src: string, dest: string): Promise<unknown> {
  const sourceGone = await fs.promises.access(src, fs.constants.R_OK).then(
    () => false,
    () => true,
  );
  return sourceGone ? naming(err, src, false, 'copyfile') : naming(err, dest, false, 'copyfile');
}

/** Runs `work` on an open file, then closes it; a close error (deferred, NFS) counts too. */
async function finish(file: FileHandle, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (err) {
    await file.close().catch(ignore);
    throw err;
  }
  await file.close();
}
