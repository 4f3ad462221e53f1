// Many atomic writes with shared flushes, with Node's promise fs: the native core's
// sequence (crates/concurrent-fs-core/src/atomic/many.rs) as far as Node allows.
//
// 1. Every temp file is created, written, flushed and closed, many at once (libuv's
//    threadpool runs the flushes side by side, and the journal commits them together).
// 2. If any of that fails, nothing is renamed and every temp is removed.
// 3. Each distinct directory is opened for flushing, then the temps are renamed in entry
//    order (of two entries for one file, the later one stays).
// 4. Each directory renamed into is flushed once; a failure there is `committed`.
import type { FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Durability, WriteManyEntry } from '../../backend';
import { naming } from '../fs-error';
import { flush, openDirectory, syncDirectory } from './durability';
import { applyPermissions } from './permissions';
import { replace } from './replace';
import { resolveTarget, type Target } from './target';
import { createTemp, removeQuietlyAsync } from './temp-file';

/** Temp files in the works at once: bounds open descriptors for batches of any size. */
const IN_FLIGHT = 64;

/** A flushed, closed temp file, ready to rename over its target. */
interface Ready {
  target: Target;
  temp: string;
}

/** The directories renamed into, by real path: open for flushing, and the first path renamed there. */
type Dirs = Map<string, { handle: FileHandle; renamed: string | undefined }>;

export async function atomicWriteMany(entries: WriteManyEntry[], durability: Durability): Promise<void> {
  const ready = await prepareAll(entries, durability);
  const written: string[] = [];
  const dirs: Dirs = new Map();
  let failure: unknown;
  try {
    await openDirectories(ready, durability, dirs);
    for (const [i, { target, temp }] of ready.entries()) {
      try {
        await replace(temp, target.path, false);
      } catch (err) {
        await Promise.all(ready.slice(i).map(({ temp }) => removeQuietlyAsync(temp)));
        throw naming(err, target.given);
      }
      written.push(target.given);
      const dir = dirs.get(dirname(target.path));
      if (dir && dir.renamed === undefined) dir.renamed = target.given;
    }
  } catch (err) {
    failure = err;
  }
  // Even after a failure, what was renamed is made durable, as far as it can be.
  const synced = await syncDirectories(dirs);
  if (failure === undefined && synced !== undefined) failure = synced;
  if (failure !== undefined) throw withWritten(failure, written);
}

/** Opens each directory once, before any rename; a failure removes every temp. */
async function openDirectories(ready: Ready[], durability: Durability, dirs: Dirs) {
  try {
    for (const { target } of ready) {
      const dir = dirname(target.path);
      if (dirs.has(dir)) continue;
      const handle = await openDirectory(target.path, target.given, durability);
      if (handle) dirs.set(dir, { handle, renamed: undefined });
    }
  } catch (err) {
    await Promise.all(ready.map(({ temp }) => removeQuietlyAsync(temp)));
    throw err;
  }
}

/** Flushes and closes every directory; the first flush error (committed), if any. */
async function syncDirectories(dirs: Dirs): Promise<unknown> {
  let first: unknown;
  for (const { handle, renamed } of dirs.values()) {
    try {
      if (renamed !== undefined) await syncDirectory(handle, renamed);
    } catch (err) {
      first ??= err;
    } finally {
      await handle.close().catch(() => undefined);
    }
  }
  return first;
}

function withWritten(err: unknown, written: string[]): unknown {
  if (err instanceof Error) Object.assign(err, { written });
  return err;
}

/** Every entry's temp file, flushed; on any failure all temps are removed and the first error (by entry) is thrown. */
async function prepareAll(entries: WriteManyEntry[], durability: Durability): Promise<Ready[]> {
  const results: PromiseSettledResult<Ready>[] = new Array(entries.length);
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < entries.length; i = next++) {
      results[i] = await prepare(entries[i]!, durability).then(
        (value) => ({ status: 'fulfilled', value }) as const,
        (reason: unknown) => ({ status: 'rejected', reason }) as const,
      );
    }
  };
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, entries.length) }, lane));
  const failed = results.find((r) => r.status === 'rejected');
  if (failed === undefined) return results.map((r) => (r as PromiseFulfilledResult<Ready>).value);
  await Promise.all(results.map((r) => (r.status === 'fulfilled' ? removeQuietlyAsync(r.value.temp) : undefined)));
  throw withWritten(failed.reason, []);
}

/** One temp file holding the entry's data with the target's permissions, flushed and closed. */
async function prepare(entry: WriteManyEntry, durability: Durability): Promise<Ready> {
  const target = await resolveTarget(entry.path, true);
  let temp: { file: FileHandle; path: string };
  try {
    temp = await createTemp(target.path);
  } catch (err) {
    throw naming(err, target.given);
  }
  try {
    await applyPermissions(temp.file, target.existing, entry.mode);
    for (let done = 0; done < entry.data.length; ) {
      done += (await temp.file.write(entry.data, done, entry.data.length - done)).bytesWritten;
    }
    // Never rename a temp whose flush failed (fsyncgate); close can report a deferred write error (NFS).
    await flush(temp.file, durability);
    await temp.file.close();
  } catch (err) {
    await temp.file.close().catch(() => undefined);
    await removeQuietlyAsync(temp.path);
    throw naming(err, target.given);
  }
  return { target, temp: temp.path };
}
