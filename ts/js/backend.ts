// The pure-JS fallback implementation (Node's fs only). Weaker guarantees: see
// docs/fallback.md.
import type { Backend } from '../backend';
import { atomicWrite, createExclusive, openAtomic } from './atomic/async';
import { atomicWriteMany } from './atomic/many';
import { atomicWriteSync, createExclusiveSync } from './atomic/sync';
import { cloneFile } from './clone-file';
import { jsIds } from './ids/backend';
import { JsLock } from './lock/js-lock';
import { contentVersion } from './version';

export const jsBackend: Backend = {
  implementation: 'js',
  ids: jsIds,
  writeSync: atomicWriteSync,
  write: atomicWrite,
  createExclusiveSync,
  createExclusive,
  openAtomic,
  writeMany: atomicWriteMany,
  openLock: (path, shared) => new JsLock(path, shared),
  cloneFile,
  contentVersion,
};
