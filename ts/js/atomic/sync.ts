// Atomic writes with Node's synchronous fs: the native core's sequence, step by step.
//
// 1. Find the target (through symlinks) and, when flushing, open its directory.
// 2. Fill a temp file next to it: create (O_EXCL), set mode and owner, write, flush
//    (fdatasync/fsync per durability), close. Any failure removes the temp, and a temp
//    whose flush failed is never renamed: the kernel may have dropped the dirty pages,
//    and a retried fsync "succeeds" with the data lost (fsyncgate).
// 3. Rename it over the target (link for noClobber): readers see old or new, never a mix.
// 4. Flush the directory, where the rename lives. Failing here, the call reports
//    `committed: true`: the new content is in place, its durability unknown.
import * as fs from 'node:fs';
import type { WriteSettings } from '../../backend';
import { closeQuietly, hasCode, naming } from '../fs-error';
import { flushSync, openDirectorySync, syncDirectorySync } from './durability';
import { applyPermissionsSync } from './permissions';
import { replaceSync } from './replace';
import { refuseExisting, resolveTargetSync, type Target } from './target';
import { createTempSync, removeQuietly } from './temp-file';

export function atomicWriteSync(path: string, data: Uint8Array, settings: WriteSettings): void {
  // With noClobber, links are not followed and any entry is EEXIST.
  const target = refuseExisting(resolveTargetSync(path, !settings.noClobber), settings);
  writeTargetSync(target, data, settings);
}

/** True when this call created `path`; false when any entry (even a dangling link) was there. */
export function createExclusiveSync(path: string, data: Uint8Array, settings: WriteSettings): boolean {
  try {
    atomicWriteSync(path, data, { ...settings, noClobber: true });
    return true;
  } catch (err) {
    // There already, or created by someone else since we looked (link refused).
    if (hasCode(err, 'EEXIST') && !err.committed) return false;
    throw err;
  }
}

function writeTargetSync(target: Target, data: Uint8Array, settings: WriteSettings): void {
  const dir = openDirectorySync(target.path, target.given, settings.durability);
  try {
    const temp = fillTempSync(target, data, settings);
    try {
      replaceSync(temp, target.path, settings.noClobber);
    } catch (err) {
      removeQuietly(temp);
      throw naming(err, target.given);
    }
    if (dir !== undefined) syncDirectorySync(dir, target.given);
  } finally {
    if (dir !== undefined) closeQuietly(dir);
  }
}

/** A flushed, closed temp file holding `data` with the target's permissions; its path. */
function fillTempSync(target: Target, data: Uint8Array, settings: WriteSettings): string {
  let temp: { fd: number; path: string };
  try {
    temp = createTempSync(target.path);
  } catch (err) {
    throw naming(err, target.given);
  }
  try {
    applyPermissionsSync(temp.fd, target.existing, settings.mode);
    writeAllSync(temp.fd, data);
    flushSync(temp.fd, settings.durability);
  } catch (err) {
    closeQuietly(temp.fd);
    removeQuietly(temp.path);
    throw naming(err, target.given);
  }
  try {
    // close can report a deferred write error (NFS): the content is then not safe.
    fs.closeSync(temp.fd);
  } catch (err) {
    removeQuietly(temp.path);
    throw naming(err, target.given);
  }
  return temp.path;
}

function writeAllSync(fd: number, data: Uint8Array): void {
  for (let done = 0; done < data.length; ) done += fs.writeSync(fd, data, done, data.length - done);
}
