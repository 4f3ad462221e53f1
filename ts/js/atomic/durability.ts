// Flushing, per durability level. libuv issues F_FULLFSYNC for fsync on macOS and
// FlushFileBuffers on Windows, so `fs.fsync` is already the strongest flush there is.
//
// The directory is opened before the write starts, so that a directory we cannot open
// fails the call while the target is still untouched, not after the rename.
import * as fs from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Durability } from '../../backend';
import { isUnsupported, naming } from '../fs-error';

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
    const handle = await fs.promises.open(dirname(target), 'r');
    directoryOf.set(handle, dirname(target));
    return handle;
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
    await sharedFlush(directoryOf.get(dir) ?? dir, () => dir.sync());
  } catch (err) {
    if (!isUnsupported(err)) throw naming(err, given, true);
  }
}

/** The directory each handle of `openDirectory` flushes: concurrent writers into it share flushes. */
const directoryOf = new WeakMap<FileHandle, string>();

/** Per directory: the flush running now, and the one queued to start after it. */
interface DirectoryFlushes {
  running?: Promise<void>;
  queued?: Promise<void>;
}
const flushes = new Map<string | FileHandle, DirectoryFlushes>();

/**
 * Group commit, as the native core does it (atomic/shared_flush.rs): a rename is durable
 * once its directory is flushed by an fsync that started after it. A caller joins the
 * queued flush (not started yet, so it covers every rename before it starts); with none
 * queued it starts one now if none is running, else queues one to start when the running
 * one ends. A failed flush rejects every caller it covered.
 */
function sharedFlush(key: string | FileHandle, run: () => Promise<void>): Promise<void> {
  const state = flushes.get(key) ?? {};
  flushes.set(key, state);
  if (state.queued) return state.queued;
  const start = (): Promise<void> => {
    const running = run().finally(() => {
      if (state.running === running) state.running = undefined;
      if (!state.running && !state.queued) flushes.delete(key);
    });
    state.running = running;
    return running;
  };
  if (!state.running) return start();
  const queued = state.running
    .catch(() => undefined)
    .then(() => {
      state.queued = undefined;
      return start();
    });
  state.queued = queued;
  return queued;
}
