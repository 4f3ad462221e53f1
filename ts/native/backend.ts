// The native implementation: the Rust addon behind the Backend interface. Its errors
// arrive as `cfs:{json}` messages and leave as Node-style errors.
import type { AtomicFileHandle, Backend, Durability, OsLock, WriteManyEntry, WriteSettings } from '../backend';
import { abortError, errnoName, systemError } from '../errors';
import { createNativeIds } from './ids';
import { loadBinding, type NativeBinding } from './load';

const DURABILITY: Record<Durability, number> = { none: 0, data: 1, full: 2 };

/**
 * Turns the addon's encoded errors into Node-style errors; other errors pass through.
 * On Unix the code is the raw errno's own name (as Node's fs names it), so an errno
 * the core has no name for is still ENXIO, ENOLCK, EMLINK ...; on Windows the raw
 * error is a Win32 code and the core's name (libuv's mapping) stands.
 */
export function fromNative(err: unknown): unknown {
  if (!(err instanceof Error) || !err.message.startsWith('cfs:{')) return err;
  const detail = JSON.parse(err.message.slice(4)) as {
    code: string;
    errno?: number;
    syscall: string;
    path: string | null;
    committed: boolean;
    description?: string;
  };
  const named = process.platform !== 'win32' && detail.errno ? errnoName(detail.errno) : undefined;
  return systemError({
    code: named ?? detail.code,
    syscall: detail.syscall,
    path: detail.path ?? undefined,
    committed: detail.committed,
    description: detail.description,
  });
}

function call<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw fromNative(err);
  }
}

async function callAsync<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw fromNative(err);
  }
}

function createNativeBackend(binding: NativeBinding): Backend {
  const args = (s: WriteSettings) => [DURABILITY[s.durability], s.mode ?? null] as const;
  return {
    implementation: 'native',
    ids: createNativeIds(binding),
    writeSync: (path, data, s) => call(() => binding.atomicWriteSync(path, data, ...args(s), s.noClobber)),
    write: (path, data, s) => callAsync(async () => void (await binding.atomicWrite(path, data, ...args(s), s.noClobber))),
    createExclusiveSync: (path, data, s) => call(() => binding.createExclusiveSync(path, data, ...args(s))),
    createExclusive: (path, data, s) => callAsync(() => binding.createExclusive(path, data, ...args(s))),
    openAtomic: async (path, s): Promise<AtomicFileHandle> => {
      const file = binding.NativeAtomicFile.create();
      await callAsync(() => file.open(path, ...args(s), s.noClobber));
      return {
        write: (chunk) => callAsync(() => file.write(chunk)),
        commit: () => callAsync(() => file.commit()),
        abort: () => callAsync(() => file.abort()),
      };
    },
    writeMany: (entries, durability) => writeMany(binding, entries, durability),
    openLock: (path, shared) => nativeLock(binding, path, shared),
    cloneFile: (src, dest, durability) => callAsync(() => binding.cloneFile(src, dest, DURABILITY[durability])),
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
      DURABILITY[durability],
    );
  } catch (err) {
    const written =
      err instanceof Error && err.message.startsWith('cfs:{')
        ? (JSON.parse(err.message.slice(4)) as { written?: number[] }).written
        : undefined;
    throw Object.assign(fromNative(err) as Error, { written: (written ?? []).map((i) => entries[i]!.path) });
  }
}

/** Outcomes of `lockWait`. */
const ACQUIRED = 0;
const CANCELLED = 2;

/**
 * One lock object's native handle. The hot calls (`tryLock`, `lockSync`, `release`) are
 * direct, without a closure around them: an uncontended cycle is two native calls, and
 * a few nanoseconds of wrapping each are a visible share of it.
 */
function nativeLock(binding: NativeBinding, path: string, shared: boolean): OsLock {
  const handle = binding.lockOpen(path, shared);
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
      // Uncontended: settle on this thread, without a trip through the waiter thread.
      if (call(() => binding.lockTry(handle))) return true;
      if (timeoutMs === 0) return false;
      const cancel = () => binding.lockCancel(handle);
      signal?.addEventListener('abort', cancel, { once: true });
      try {
        const outcome = await callAsync(() => binding.lockWait(handle, timeoutMs));
        if (outcome === CANCELLED && signal) throw abortError(signal);
        return outcome === ACQUIRED;
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
