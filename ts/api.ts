// The whole public API, built over one implementation (a Backend): `createApi` is called
// once per entry point (ts/index.ts, and the generated ts/native.ts and ts/js.ts).
//
// One pattern for every public class (FileLock, Snowflake, ConcurrentFileStore, and the
// same in TaskQueue, EventLog, Workspaces), in four parts (in a module: XConstructor,
// XBase, createXApi, then the module functions):
//
// 1. `XBase`, an abstract class at module level with all the behaviour and the doc
//    comments. What it needs (the Backend, or a small typed `XDeps` object) comes first
//    in its `protected constructor(deps, ...publicArgs)`. It is the public instance type:
//    each entry point exports `type X = XBase`.
// 2. `XConstructor`, an interface with the public `new (...publicArgs): XBase` signature
//    and its doc comment, so that the shipped .d.ts names `XBase` rather than spelling out
//    a class expression (see the comment on `FileLockConstructor` in ts/lock.ts).
// 3. `createXApi(deps)` binds the deps and nothing else:
//    `class X extends XBase { constructor(...a) { super(deps, ...a); } }`, returned as
//    `X as XConstructor`, beside one-line functions that pass `deps` on (a static that
//    needs deps, such as `Snowflake.parse`, is one of those). No class bodies or logic.
// 4. Everything else is module-level functions: statics and helpers that need no deps as
//    they are, and those that do (withLock, writeIfVersion, leaseWorkerId ...) taking
//    their deps as the first argument.
import { createAtomicApi } from './atomic';
import type { Backend } from './backend';
import { cloneFile } from './clone-file';
import { createEventApi } from './events/log';
import { createIdApi } from './ids';
import { createJsonApi } from './json';
import { createLockApi } from './lock';
import { createLockStatusApi } from './lock-status';
import { createPortApi } from './ports';
import { backoffDelays, retry } from './retry';
import { createStoreApi, leasedSnowflakes } from './store';
import { createTaskApi } from './tasks/queue';
import { createVersionApi } from './versioned';
import { createWorkspacesApi } from './workspaces/workspaces';

export function createApi(backend: Backend) {
  const locks = createLockApi(backend);
  const versions = createVersionApi({ backend, withLock: locks.withLock });
  const ids = createIdApi(backend, { FileLock: locks.FileLock });
  const atomic = createAtomicApi(backend);
  const store = createStoreApi({
    backend,
    withLock: locks.withLock,
    optimisticUpdate: versions.optimisticUpdate,
    ids: leasedSnowflakes(ids),
    writeIfVersion: versions.writeIfVersion,
  });
  const lockStatus = createLockStatusApi(backend);
  return {
    implementation: backend.implementation,
    ...atomic,
    ...createJsonApi({ atomicWrite: atomic.atomicWrite, withLock: locks.withLock }),
    ...locks,
    ...lockStatus,
    ...versions,
    retry,
    backoffDelays,
    ...ids,
    ...store,
    ...createTaskApi(backend, { FileLock: locks.FileLock, uuidv7: ids.uuidv7 }),
    ...createPortApi({ FileLock: locks.FileLock }),
    ...createEventApi({
      FileLock: locks.FileLock,
      openStore: (dir) => new store.ConcurrentFileStore(dir, { durability: 'data' }),
    }),
    ...createWorkspacesApi({
      FileLock: locks.FileLock,
      withLock: locks.withLock,
      lockStatus: lockStatus.lockStatus,
      openStore: (dir) => new store.ConcurrentFileStore(dir, { durability: 'data' }),
      // Not flushed: neither is the checkout git writes beside it.
      cloneFile: (src, dest) => cloneFile(backend, src, dest, { durability: 'none' }),
    }),
  };
}

export type Api = ReturnType<typeof createApi>;
