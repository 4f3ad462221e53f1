// The whole public API, built over one implementation.
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
