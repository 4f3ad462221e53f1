// The whole public API, built over one implementation.
import { createAtomicApi } from './atomic';
import type { Backend } from './backend';
import { createLockApi } from './lock';
import { backoffDelays, retry } from './retry';
import { createVersionApi } from './versioned';

export function createApi(backend: Backend) {
  const locks = createLockApi(backend);
  return {
    implementation: backend.implementation,
    ...createAtomicApi(backend),
    ...locks,
    ...createVersionApi(backend, locks.withLock),
    retry,
    backoffDelays,
  };
}

export type Api = ReturnType<typeof createApi>;
