// The pure-JS fallback implementation (Node's fs only). Weaker guarantees: see README.
import type { Backend } from '../backend';
import { jsIds } from './ids';

const notYet = () => {
  throw new Error('pure-JS fallback: not built yet');
};

export const jsBackend: Backend = {
  implementation: 'js',
  ids: jsIds,
  writeSync: notYet,
  write: notYet,
  createExclusiveSync: notYet,
  createExclusive: notYet,
  openAtomic: notYet,
  openLock: notYet,
};
