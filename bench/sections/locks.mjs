// @ts-check
// Section 3a: uncontended lock acquire + release in one process, sync and async, against
// fs-native-extensions (OFD fcntl locks on a descriptor the caller keeps open) and
// proper-lockfile (mkdir lock directories).
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { measure, resultOf } from '../lib/measure.mjs';
import { lockRowId } from '../lib/row-ids.mjs';
import { inScratchDir } from '../lib/scratch.mjs';

const require = createRequire(import.meta.url);
const fsx = require('fs-native-extensions');
const properLockfile = require('proper-lockfile');

/** Cycles per timed call: one cycle is a few µs, well above the timer's cost, but close. */
const BLOCK = 100;

/**
 * @typedef {import('../lib/types.d.mts').Libs} Libs
 * @typedef {import('../lib/types.d.mts').Config} Config
 * @typedef {import('../lib/types.d.mts').LockRow} LockRow
 * @typedef {{ name: string, impl: LockRow['impl'], api: string }} CycleSpec
 * @typedef {CycleSpec & { mode: LockRow['mode'], fn: () => unknown }} Cycle a timed block of `BLOCK` cycles
 * @typedef {{ sync: (spec: CycleSpec, cycle: () => void) => void, async: (spec: CycleSpec, cycle: () => Promise<unknown>) => void, file: () => string }} AddCycle
 */

/** FileLock's sync, try and async cycles and withLock, native and fallback. */
function addOurs(/** @type {AddCycle} */ add, /** @type {Libs} */ cfs) {
  for (const [impl, lib] of /** @type {const} */ ([
    ['native', cfs.native],
    ['js', cfs.js],
  ])) {
    const a = new lib.FileLock(add.file());
    add.sync({ name: `${impl} FileLock acquireSync + release`, impl, api: 'acquireSync' }, () => {
      a.acquireSync();
      a.release();
    });
    const b = new lib.FileLock(add.file());
    add.sync({ name: `${impl} FileLock tryAcquire + release`, impl, api: 'tryAcquire' }, () => {
      if (!b.tryAcquire()) throw new Error('uncontended tryAcquire failed');
      b.release();
    });
    const c = new lib.FileLock(add.file());
    add.async({ name: `${impl} await FileLock acquire + release`, impl, api: 'acquire' }, async () => {
      await c.acquire();
      c.release();
    });
    const path = add.file();
    add.async({ name: `${impl} await withLock(path, fn)`, impl, api: 'withLock' }, () => lib.withLock(path, () => undefined));
  }
}

/** fs-native-extensions on descriptors kept open, and proper-lockfile. Returns what closes the descriptors. */
function addPeers(/** @type {AddCycle} */ add) {
  const fdSync = fs.openSync(add.file(), 'a+');
  add.sync({ name: 'fs-native-extensions waitForLockSync + unlock', impl: 'peer', api: 'fsx-waitForLockSync' }, () => {
    fsx.waitForLockSync(fdSync);
    fsx.unlock(fdSync);
  });
  const fdTry = fs.openSync(add.file(), 'a+');
  add.sync({ name: 'fs-native-extensions tryLock + unlock', impl: 'peer', api: 'fsx-tryLock' }, () => {
    if (!fsx.tryLock(fdTry)) throw new Error('uncontended tryLock failed');
    fsx.unlock(fdTry);
  });
  const fdAsync = fs.openSync(add.file(), 'a+');
  add.async({ name: 'fs-native-extensions await waitForLock + unlock', impl: 'peer', api: 'fsx-waitForLock' }, async () => {
    await fsx.waitForLock(fdAsync);
    fsx.unlock(fdAsync);
  });
  const plSync = add.file();
  add.sync({ name: 'proper-lockfile lockSync + release', impl: 'peer', api: 'proper-lockfile-sync' }, () => {
    properLockfile.lockSync(plSync, { realpath: false })();
  });
  const plAsync = add.file();
  add.async({ name: 'proper-lockfile await lock + release', impl: 'peer', api: 'proper-lockfile' }, async () => {
    const release = await properLockfile.lock(plAsync, { realpath: false });
    await release();
  });
  return () => {
    for (const fd of [fdSync, fdTry, fdAsync]) fs.closeSync(fd);
  };
}

/** Every cycle, each on a lock file of its own under `root`. */
function cycles(/** @type {string} */ root, /** @type {Libs} */ cfs) {
  /** @type {Cycle[]} */
  const list = [];
  let seq = 0;
  /** @type {AddCycle} */
  const add = {
    file: () => join(root, `lock${seq++}`),
    sync: (spec, cycle) =>
      list.push({
        ...spec,
        mode: 'sync',
        fn: () => {
          for (let i = 0; i < BLOCK; i++) cycle();
        },
      }),
    async: (spec, cycle) =>
      list.push({
        ...spec,
        mode: 'async',
        fn: async () => {
          for (let i = 0; i < BLOCK; i++) await cycle();
        },
      }),
  };
  addOurs(add, cfs);
  const close = addPeers(add);
  return { list, close };
}

/** @returns {Promise<LockRow[]>} */
export function runLocks(/** @type {Libs} */ cfs, /** @type {Config} */ config) {
  return inScratchDir(config.dir, 'cfs-bench-locks-', async (root) => {
    const { list, close } = cycles(root, cfs);
    config.log('Locks, uncontended');
    try {
      const rates = await measure(
        list.map((c) => ({ name: c.name, fn: c.fn, ops: BLOCK })),
        config,
      );
      return list.map((c) => ({
        id: lockRowId(c),
        name: c.name,
        impl: c.impl,
        api: c.api,
        mode: c.mode,
        rate: resultOf(rates, c.name).rate,
        roundRates: resultOf(rates, c.name).rounds,
      }));
    } finally {
      close();
    }
  });
}
