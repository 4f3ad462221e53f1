// Flushing, per durability level. libuv issues F_FULLFSYNC for fsync on macOS and
// FlushFileBuffers on Windows, so `fs.fsync` is already the strongest flush there is.
//
// The directory is opened before the write starts, so that a directory we cannot open
// fails the call while the target is still untouched, not after the rename.
import * as fs from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Durability } from '../backend';
import { isUnsupported, naming } from './fs-error';

/** Flushes the file. A failure is final: never retry fsync on that descriptor (fsyncgate). */
export function flushSync(fd: number, durability: Durability): void {
  if (durability === 'data') fs.fdatasyncSync(fd);
  else if (durability === 'full') fs.fsyncSync(fd);
}

export async function flush(file: FileHandle, durability: Durability): Promise<void> {
  if (durability === 'data') await file.datasync();
  else if (durability === 'full') await file.sync();
}

/**
 * Windows cannot open a directory for flushing; NTFS journals the rename, which is the
 * most it offers. `durability: 'none'` needs no directory flush either.
 */
function needsDirectory(durability: Durability): boolean {
  return durability !== 'none' && process.platform !== 'win32';
}

/** The target's directory, open for `syncDirectorySync`, or undefined when not needed. */
export function openDirectorySync(target: string, given: string, durability: Durability): number | undefined {
  if (!needsDirectory(durability)) return undefined;
  try {
    return fs.openSync(dirname(target), 'r');
  } catch (err) {
    if (isUnsupported(err)) return undefined;
    throw naming(err, given);
  }
}

export async function openDirectory(target: string, given: string, durability: Durability): Promise<FileHandle | undefined> {
  if (!needsDirectory(durability)) return undefined;
  try {
    return await fs.promises.open(dirname(target), 'r');
  } catch (err) {
    if (isUnsupported(err)) return undefined;
    throw naming(err, given);
  }
}

/**
 * Makes the rename durable. It runs after the rename, so a failure means: the new content
 * is in place, its durability unknown (`committed: true`). A filesystem that cannot flush
 * a directory at all is not an error: there is nothing more we could do there.
 */
export function syncDirectorySync(dir: number, given: string): void {
  try {
    fs.fsyncSync(dir);
  } catch (err) {
    if (!isUnsupported(err)) throw naming(err, given, true);
  }
}

export async function syncDirectory(dir: FileHandle, given: string): Promise<void> {
  try {
    await dir.sync();
  } catch (err) {
    if (!isUnsupported(err)) throw naming(err, given, true);
  }
}
