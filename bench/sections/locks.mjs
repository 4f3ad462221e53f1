// Section 3a: uncontended lock acquire + release in one process, sync and async, against
// fs-native-extensions (OFD fcntl locks on a descriptor the caller keeps open) and
// proper-lockfile (mkdir lock directories).
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { measure } from '../lib/measure.mjs';

const require = createRequire(import.meta.url);
const fsx = require('fs-native-extensions');
const properLockfile = require('proper-lockfile');

/** Cycles per timed call: one cycle is a few µs, well above the timer's cost, but close. */
const BLOCK = 100;

function cycles(root, cfs) {
  const list = [];
  let seq = 0;
  const file = () => join(root, `lock${seq++}`);
  const sync = (spec, cycle) =>
    list.push({
      ...spec,
      mode: 'sync',
      fn: () => {
        for (let i = 0; i < BLOCK; i++) cycle();
      },
    });
  const async = (spec, cycle) =>
    list.push({
      ...spec,
      mode: 'async',
      fn: async () => {
        for (let i = 0; i < BLOCK; i++) await cycle();
      },
    });
  for (const [impl, lib] of [
    ['native', cfs.native],
    ['js', cfs.js],
  ]) {
    const a = new lib.FileLock(file());
    sync({ name: `${impl} FileLock acquireSync + release`, impl, api: 'acquireSync' }, () => {
      a.acquireSync();
      a.release();
    });
    const b = new lib.FileLock(file());
    sync({ name: `${impl} FileLock tryAcquire + release`, impl, api: 'tryAcquire' }, () => {
      if (!b.tryAcquire()) throw new Error('uncontended tryAcquire failed');
      b.release();
    });
    const c = new lib.FileLock(file());
    async({ name: `${impl} await FileLock acquire + release`, impl, api: 'acquire' }, async () => {
      await c.acquire();
      c.release();
    });
    const path = file();
    async({ name: `${impl} await withLock(path, fn)`, impl, api: 'withLock' }, () => lib.withLock(path, () => undefined));
  }
  const fdSync = fs.openSync(file(), 'a+');
  sync({ name: 'fs-native-extensions waitForLockSync + unlock', impl: 'peer', api: 'fsx-waitForLockSync' }, () => {
    fsx.waitForLockSync(fdSync);
    fsx.unlock(fdSync);
  });
  const fdTry = fs.openSync(file(), 'a+');
  sync({ name: 'fs-native-extensions tryLock + unlock', impl: 'peer', api: 'fsx-tryLock' }, () => {
    if (!fsx.tryLock(fdTry)) throw new Error('uncontended tryLock failed');
    fsx.unlock(fdTry);
  });
  const fdAsync = fs.openSync(file(), 'a+');
  async({ name: 'fs-native-extensions await waitForLock + unlock', impl: 'peer', api: 'fsx-waitForLock' }, async () => {
    await fsx.waitForLock(fdAsync);
    fsx.unlock(fdAsync);
  });
  const plSync = file();
  sync({ name: 'proper-lockfile lockSync + release', impl: 'peer', api: 'proper-lockfile-sync' }, () => {
    properLockfile.lockSync(plSync, { realpath: false })();
  });
  const plAsync = file();
  async({ name: 'proper-lockfile await lock + release', impl: 'peer', api: 'proper-lockfile' }, async () => {
    const release = await properLockfile.lock(plAsync, { realpath: false });
    await release();
  });
  const close = () => {
    for (const fd of [fdSync, fdTry, fdAsync]) fs.closeSync(fd);
  };
  return { list, close };
}

export async function runLocks(cfs, config) {
  const root = fs.mkdtempSync(join(config.dir, 'cfs-bench-locks-'));
  try {
    const { list, close } = cycles(root, cfs);
    config.log('Locks, uncontended');
    try {
      const rates = await measure(
        list.map((c) => ({ name: c.name, fn: c.fn, ops: BLOCK })),
        config,
      );
      return list.map((c) => ({
        name: c.name,
        impl: c.impl,
        api: c.api,
        mode: c.mode,
        rate: rates.get(c.name).rate,
        roundRates: rates.get(c.name).rounds,
      }));
    } finally {
      close();
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}
