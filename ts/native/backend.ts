// The native implementation: the Rust addon behind the Backend interface. Its errors
// leave as Node-style errors (errors.ts).
import type { AtomicFileHandle, Backend, Durability, OsLock, WriteManyEntry } from '../backend';
import { abortError } from '../errors';
import { callNative as call, callNativeAsync as callAsync, fromNative, nativeDetail } from './errors';
import { createNativeIds } from './ids';
import { loadBinding, type NativeBinding } from './load';

function createNativeBackend(binding: NativeBinding): Backend {
  // WriteSettings is the addon's WriteOptions: the object crosses as it is.
  return {
    implementation: 'native',
    ids: createNativeIds(binding),
    writeSync: (path, data, s) => call(() => binding.atomicWriteSync(path, data, s)),
    write: (path, data, s) => callAsync(() => binding.atomicWrite(path, data, s)),
    createExclusiveSync: (path, data, s) => call(() => binding.createExclusiveSync(path, data, s)),
    createExclusive: (path, data, s) => callAsync(() => binding.createExclusive(path, data, s)),
    openAtomic: async (path, s): Promise<AtomicFileHandle> => {
      const file = binding.NativeAtomicFile.create();
      await callAsync(() => file.open(path, s));
      return {
        write: (chunk) => callAsync(() => file.write(chunk)),
        commit: () => callAsync(() => file.commit()),
        abort: () => callAsync(() => file.abort()),
      };
    },
    writeMany: (entries, durability) => writeMany(binding, entries, durability),
    openLock: (path, shared) => nativeLock(binding, path, shared),
    cloneFile: (src, dest, durability) => callAsync(() => binding.cloneFile(src, dest, durability)),
    contentVersion: (data) => binding.contentVersion(data),
  };
}

/**
 * One call for the whole batch: the contents travel concatenated (one copy), cut by
 * their lengths. A failure's detail lists the entries renamed (`written`, as indexes),
 * which become the paths the caller gave.
 */
async function writeMany(binding: NativeBinding, entries: WriteManyEntry[], durability: Durability): Promise<void> {
  const data = Buffer.concat(entries.map((e) => e.data));
  const lengths = entries.map((e) => e.data.length);
  const modes = entries.map((e) => e.mode ?? null);
  try {
    await binding.atomicWriteMany(
      entries.map((e) => e.path),
      data,
      lengths,
      modes,
      durability,
    );
  } catch (err) {
    const detail = nativeDetail(err);
    const written = detail?.kind === 'system' ? detail.written : undefined;
    throw Object.assign(fromNative(err) as Error, { written: (written ?? []).map((i) => entries[i]!.path) });
  }
}

/**
 * One lock object's native handle. The hot calls (`tryLock`, `lockSync`, `release`) are
 * direct, without a closure around them: an uncontended cycle is two native calls, and
 * a few nanoseconds of wrapping each are a visible share of it.
 */
function nativeLock(binding: NativeBinding, path: string, shared: boolean): OsLock {
  const handle = binding.lockOpen(path, shared ? 'shared' : 'exclusive');
  return {
    tryLock() {
      try {
        return binding.lockTry(handle);
      } catch (err) {
        throw fromNative(err);
      }
    },
    lockSync(timeoutMs) {
      try {
        return binding.lockSync(handle, timeoutMs);
      } catch (err) {
        throw fromNative(err);
      }
    },
    async lock(timeoutMs, signal) {
      // The core decides (binding.lockAcquire): settled at once, or a promise when it waits.
      const acquired = call(() => binding.lockAcquire(handle, timeoutMs));
      if (typeof acquired === 'boolean') return acquired;
      const cancel = () => binding.lockCancel(handle);
      signal?.addEventListener('abort', cancel, { once: true });
      try {
        const outcome = await callAsync(() => acquired);
        if (outcome === 'cancelled' && signal) throw abortError(signal);
        return outcome === 'acquired';
      } finally {
        signal?.removeEventListener('abort', cancel);
      }
    },
    release: () => binding.lockRelease(handle),
    unlock: () => binding.lockClose(handle),
    fd: () => binding.lockFd(handle) ?? undefined,
  };
}

let cached: { backend: Backend } | { error: Error } | undefined;

export function tryLoadNativeBackend(): { backend: Backend } | { error: Error } {
  if (!cached) {
    try {
      cached = { backend: createNativeBackend(loadBinding()) };
    } catch (error) {
      cached = { error: error as Error };
    }
  }
  return cached;
}

export function loadNativeBackend(): Backend {
  const result = tryLoadNativeBackend();
  if ('error' in result) throw result.error;
  return result.backend;
}
