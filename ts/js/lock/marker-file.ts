// Small files that exist to say "taken": created exclusively, read back, removed only
// by whoever can show the content is still what they saw.
//
// A marker is written to a temp file and then hard-linked to its name. link(2) fails
// with EEXIST atomically, like O_CREAT|O_EXCL, but unlike `open('wx')` + `write` the
// marker never appears empty or half-written to a reader, so a reader never has to
// guess whether a short marker is being written or was torn by a crash. (link is also
// the classic choice on NFS, where O_EXCL was long unreliable.)
import * as fs from 'node:fs';
import { systemError } from '../../errors';
import { createTempSync, removeQuietly } from '../atomic/temp-file';
import { closeQuietly, hasCode, naming } from '../fs-error';

/** What a reader saw at one moment: content plus enough to recognise the same file later. */
export interface Snapshot {
  content: string;
  ino: bigint;
  mtimeMs: number;
}

/** Markers are tiny; anything larger at a lock path is not ours and is read in part. */
const MAX_MARKER_BYTES = 4096;

/** Creates `path` holding `content`, unless it exists. Errors name `path`. */
export function publishExclusive(path: string, content: string): boolean {
  let temp: { fd: number; path: string };
  try {
    temp = createTempSync(path);
  } catch (err) {
    throw naming(err, path);
  }
  try {
    try {
      fs.writeFileSync(temp.fd, content);
    } finally {
      fs.closeSync(temp.fd);
    }
    fs.linkSync(temp.path, path);
    return true;
  } catch (err) {
    if (hasCode(err, 'EEXIST')) return false;
    throw naming(err, path);
  } finally {
    removeQuietly(temp.path);
  }
}

/** The marker at `path`, or undefined when there is none. */
export function readSnapshot(path: string): Snapshot | undefined {
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch (err) {
    if (hasCode(err, 'ENOENT')) return undefined;
    throw naming(err, path);
  }
  try {
    const stat = fs.fstatSync(fd, { bigint: true });
    if (stat.isDirectory()) throw systemError({ code: 'EISDIR', syscall: 'open', path });
    const buffer = Buffer.alloc(MAX_MARKER_BYTES);
    const length = fs.readSync(fd, buffer, 0, MAX_MARKER_BYTES, 0);
    return { content: buffer.toString('utf8', 0, length), ino: stat.ino, mtimeMs: Number(stat.mtimeMs) };
  } catch (err) {
    throw naming(err, path);
  } finally {
    closeQuietly(fd);
  }
}

export function sameFile(a: Snapshot, b: Snapshot): boolean {
  return a.content === b.content && a.ino === b.ino && a.mtimeMs === b.mtimeMs;
}

/**
 * Removes `path` if the marker there passes `check`; true when this call removed it.
 * POSIX has no compare-and-delete: between the read and the unlink another process
 * could swap the file. Callers make that impossible by protocol (see js-lock.ts and
 * break-stale.ts), not by this function.
 */
export function removeIf(path: string, check: (current: Snapshot) => boolean): boolean {
  const current = readSnapshot(path);
  if (current === undefined || !check(current)) return false;
  try {
    fs.unlinkSync(path);
    return true;
  } catch (err) {
    if (hasCode(err, 'ENOENT')) return false;
    throw naming(err, path);
  }
}
