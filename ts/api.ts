// The whole public API, built over one implementation.
import { createAtomicApi } from './atomic';
import type { Backend } from './backend';
import { createIdApi } from './ids';
import { createLockApi } from './lock';

export function createApi(backend: Backend) {
  return {
    implementation: backend.implementation,
    ...createAtomicApi(backend),
    ...createLockApi(backend),
    ...createIdApi(backend),
  };
}

export type Api = ReturnType<typeof createApi>;
