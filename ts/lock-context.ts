// Which locks the current async context holds through `withLock`, so that a nested
// `withLock(p)` (or `lockMany` including p) inside the callback re-enters instead of
// waiting for itself forever, and a `FileLock` that would wait for a lock its own
// context holds through another object fails at once with EDEADLK.
//
// One AsyncLocalStorage for the whole thread, shared by every entry point (native and
// js), created on first use: AsyncLocalStorage costs something on every promise once
// it is active, and code that never calls `withLock` should not pay for it.
import { AsyncLocalStorage } from 'node:async_hooks';
import { resolve } from 'node:path';
import type { FileLockBase } from './lock';
import { currentIdentity, type LockIdentity } from './lock-identity';
import { resolveFileSync } from './resolve';

interface HeldHere {
  lock: FileLockBase;
  /** Taken when entering, so a lock file its holder deletes inside is still recognised. */
  identity: LockIdentity | undefined;
  /** The path made absolute on entry (no I/O), so a later `chdir` does not move it. */
  absolute: string;
  /**
   * The file the path names, links followed (as the fallback's marker and the kernel
   * see it), so that another spelling is recognised even while the lock file is being
   * deleted and recreated around the hold (its inode then changes under the alias).
   * Resolved on the first nested check, not on entry: most holds have none.
   */
  resolved?: string;
}

/** The file `path` names; as given when it cannot be resolved (e.g. a link cycle). */
function physical(path: string): string {
  try {
    return resolveFileSync(path);
  } catch {
    return path;
  }
}

let storage: AsyncLocalStorage<readonly HeldHere[]> | undefined;

/** Runs `fn` in a context that also holds `lock`. */
export function runHolding<T>(lock: FileLockBase, fn: () => T): T {
  storage ??= new AsyncLocalStorage();
  const outer = storage.getStore() ?? [];
  const entry: HeldHere = { lock, identity: currentIdentity(lock.path), absolute: resolve(lock.path) };
  return storage.run([...outer, entry], fn);
}

/** The file an entry's path names, resolved once, when first asked. */
function fileOf(entry: HeldHere): string {
  entry.resolved ??= physical(entry.absolute);
  return entry.resolved;
}

/** The lock this context holds on the same file as `path`, if any (other than `except`). */
export function heldInContext(path: string, except?: FileLockBase): FileLockBase | undefined {
  const held = storage?.getStore();
  if (held === undefined || held.length === 0) return undefined;
  const wanted = currentIdentity(path);
  const resolved = physical(path);
  for (const entry of held) {
    if (entry.lock === except || !entry.lock.isLocked) continue;
    const sameFile = wanted !== undefined && entry.identity?.key === wanted.key;
    if (sameFile || fileOf(entry) === resolved) return entry.lock;
  }
  return undefined;
}
