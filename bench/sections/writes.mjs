// @ts-check
// Section 2: atomic writes of 1 KiB and 1 MiB, sync and async, durability 'none' and
// 'full', against the peers (their defaults and fsync off), a hand-written plain-fs
// crash-safe write, and the disk's own limit: 1 KiB pwrite + fsync on one open
// descriptor. A crash-safe replace needs two flushes (the file, then the directory
// after the rename), so half the raw rate is the ceiling for 'full'.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import * as atomically from 'atomically';
import { measure, resultOf } from '../lib/measure.mjs';
import { writeRowId } from '../lib/row-ids.mjs';
import { inScratchDir } from '../lib/scratch.mjs';

const require = createRequire(import.meta.url);
const writeFileAtomic = require('write-file-atomic');

export const SIZES = [
  { label: '1 KiB', bytes: 1024 },
  { label: '1 MiB', bytes: 1024 * 1024 },
];

let tempSeq = 0;

/**
 * tmp + write + fsync + rename + directory fsync, with plain fs: what anyone could write.
 * Without the flushes (`fsync` false) it is the filesystem's own floor for a replace by
 * rename, which every 'none' writer pays.
 */
function handWrittenSync(/** @type {string} */ dir, /** @type {string} */ target, /** @type {Buffer} */ data, fsync = true) {
  const temp = `${target}.${process.pid}.${tempSeq++}.tmp`;
  const fd = fs.openSync(temp, 'wx');
  try {
    fs.writeSync(fd, data);
    if (fsync) fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temp, target);
  if (!fsync) return;
  const dirFd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(dirFd);
  } finally {
    fs.closeSync(dirFd);
  }
}

async function handWrittenAsync(/** @type {string} */ dir, /** @type {string} */ target, /** @type {Buffer} */ data) {
  const temp = `${target}.${process.pid}.${tempSeq++}.tmp`;
  const file = await fs.promises.open(temp, 'wx');
  try {
    await file.write(data);
    await file.sync();
  } finally {
    await file.close();
  }
  await fs.promises.rename(temp, target);
  const dirHandle = await fs.promises.open(dir, 'r');
  try {
    await dirHandle.sync();
  } finally {
    await dirHandle.close();
  }
}

/** Flushes what earlier tasks left dirty, so it is not written back during this one. */
function settle() {
  spawnSync('sync');
}

/**
 * @typedef {import('../lib/types.d.mts').Libs} Libs
 * @typedef {import('../lib/types.d.mts').Config} Config
 * @typedef {import('../lib/types.d.mts').WriteRow} WriteRow
 * @typedef {Omit<WriteRow, 'id' | 'rate' | 'roundRates'> & { fn: () => unknown, ops?: number }} Writer a timed writer
 * @typedef {Omit<Writer, 'fn'> & { data: Buffer }} WriterSpec what a writer is, before it has a target
 * @typedef {(dir: string, target: string, data: Buffer) => () => unknown} MakeWrite one write to `target` in `dir`
 * @typedef {(spec: WriterSpec, make: MakeWrite) => void} AddWriter
 */

/** The library's own writes, native and fallback, at `none` and `full`. */
function addOurs(/** @type {AddWriter} */ add, /** @type {{ size: string, data: Buffer }} */ base, /** @type {Libs} */ cfs) {
  for (const [impl, lib] of /** @type {const} */ ([
    ['native', cfs.native],
    ['js', cfs.js],
  ])) {
    for (const durability of /** @type {const} */ (['none', 'full'])) {
      const options = { durability };
      add(
        { ...base, name: `${impl} atomicWriteSync ${durability}`, impl, api: 'atomicWriteSync', mode: 'sync', durability },
        (_, t, d) => () => lib.atomicWriteSync(t, d, options),
      );
      add(
        { ...base, name: `${impl} atomicWrite ${durability}`, impl, api: 'atomicWrite', mode: 'async', durability },
        (_, t, d) => () => lib.atomicWrite(t, d, options),
      );
    }
  }
}

/** write-file-atomic and atomically, sync and async, at their defaults and with fsync off. */
function addPeers(/** @type {AddWriter} */ add, /** @type {{ size: string, data: Buffer }} */ base) {
  for (const fsync of [true, false]) {
    const durability = fsync ? 'default (fsync)' : 'fsync off';
    const off = fsync ? {} : { fsync: false };
    const peer = /** @type {const} */ ({ impl: 'peer', durability });
    add(
      { ...base, ...peer, name: `write-file-atomic sync ${durability}`, api: 'write-file-atomic', mode: 'sync' },
      (_, t, d) => () => writeFileAtomic.sync(t, d, off),
    );
    add(
      { ...base, ...peer, name: `write-file-atomic ${durability}`, api: 'write-file-atomic', mode: 'async' },
      (_, t, d) => () => writeFileAtomic(t, d, off),
    );
    add(
      { ...base, ...peer, name: `atomically writeFileSync ${durability}`, api: 'atomically', mode: 'sync' },
      (_, t, d) => () => atomically.writeFileSync(t, d, off),
    );
    add(
      { ...base, ...peer, name: `atomically writeFile ${durability}`, api: 'atomically', mode: 'async' },
      (_, t, d) => () => atomically.writeFile(t, d, off),
    );
  }
}

/** The hand-written plain-fs sequences: crash-safe sync and async, and sync without flushes. */
function addHandWritten(/** @type {AddWriter} */ add, /** @type {{ size: string, data: Buffer }} */ base) {
  const baseline = /** @type {const} */ ({ impl: 'baseline', api: 'hand-written' });
  add(
    { ...base, ...baseline, name: 'hand-written plain fs, sync', mode: 'sync', durability: 'full' },
    (dir, t, d) => () => handWrittenSync(dir, t, d),
  );
  add(
    { ...base, ...baseline, name: 'hand-written plain fs, sync, no fsync', mode: 'sync', durability: 'none' },
    (dir, t, d) => () => handWrittenSync(dir, t, d, false),
  );
  add(
    { ...base, ...baseline, name: 'hand-written fs.promises', mode: 'async', durability: 'full' },
    (dir, t, d) => () => handWrittenAsync(dir, t, d),
  );
}

/** The disk's own limit: overwrite 1 KiB in place and flush, on one open descriptor. */
function rawWriter(/** @type {string} */ root) {
  const rawDir = join(root, 'raw');
  fs.mkdirSync(rawDir);
  const rawFd = fs.openSync(join(rawDir, 'raw.dat'), 'w');
  const kib = Buffer.alloc(1024, 'x');
  fs.writeSync(rawFd, kib, 0, kib.length, 0);
  fs.fsyncSync(rawFd);
  /** @type {Writer} */
  const writer = {
    name: 'raw pwrite 1 KiB + fsync, one fd',
    size: '1 KiB',
    impl: 'disk',
    api: 'raw-fsync',
    mode: 'sync',
    durability: 'full',
    fn: () => {
      fs.writeSync(rawFd, kib, 0, kib.length, 0);
      fs.fsyncSync(rawFd);
    },
  };
  return { writer, close: () => fs.closeSync(rawFd) };
}

/** Every writer, each with a directory of its own and an existing target of its size. */
function writers(/** @type {Libs} */ cfs, /** @type {string} */ root) {
  /** @type {Writer[]} */
  const list = [];
  let dirSeq = 0;
  /** @type {AddWriter} */
  const add = ({ data, ...spec }, make) => {
    const dir = join(root, `w${dirSeq++}`);
    fs.mkdirSync(dir);
    const target = join(dir, 'target.dat');
    fs.writeFileSync(target, data);
    list.push({ ...spec, fn: make(dir, target, data) });
  };
  for (const size of SIZES) {
    const base = { size: size.label, data: Buffer.alloc(size.bytes, 'x') };
    addOurs(add, base, cfs);
    addPeers(add, base);
    addHandWritten(add, base);
  }
  const raw = rawWriter(root);
  list.push(raw.writer, ...batchWriters(cfs, root));
  return { list, close: raw.close };
}

export const BATCH = { files: 100, bytes: 1024 };
const CONCURRENT_WRITES = 64;

/**
 * Many small files at 'full' (issue 15): one atomicWriteMany of 100 x 1 KiB, against
 * the same files one by one with atomicWriteSync and Promise.all of write-file-atomic
 * (a flush per file, none of the directory). Rates are files per second (`ops`).
 */
export function batchWriters(/** @type {Libs} */ cfs, /** @type {string} */ root) {
  const size = `${BATCH.files} x 1 KiB`;
  const data = Buffer.alloc(BATCH.bytes, 'x');
  const batch = (/** @type {string} */ name, count = BATCH.files) => {
    const dir = join(root, name.replace(/\W+/g, '-'));
    fs.mkdirSync(dir);
    const paths = Array.from({ length: count }, (_, i) => join(dir, `f${i}.dat`));
    for (const path of paths) fs.writeFileSync(path, data);
    return paths;
  };
  /** @type {(name: string, impl: Writer['impl'], api: string, mode: Writer['mode'], fn: () => unknown) => Writer} */
  const row = (name, impl, api, mode, fn) => ({ name, size, impl, api, mode, durability: 'full', ops: BATCH.files, fn });
  /** @type {Writer[]} */
  const list = [];
  for (const [impl, lib] of /** @type {const} */ ([
    ['native', cfs.native],
    ['js', cfs.js],
  ])) {
    const many = batch(`${impl} many`);
    const entries = many.map((path) => ({ path, data }));
    list.push(
      row(`${impl} atomicWriteMany full`, impl, 'atomicWriteMany', 'async', () => lib.atomicWriteMany(entries, { durability: 'full' })),
    );
    // 64 calls at once into one directory: they share directory flushes (group commit).
    const concurrent = batch(`${impl} concurrent`).slice(0, CONCURRENT_WRITES);
    list.push({
      ...row(`${impl} ${CONCURRENT_WRITES} concurrent atomicWrite full`, impl, 'atomicWrite', 'async', () =>
        Promise.all(concurrent.map((path) => lib.atomicWrite(path, data, { durability: 'full' }))),
      ),
      size: `${CONCURRENT_WRITES} x 1 KiB`,
      ops: CONCURRENT_WRITES,
    });
    // The same 64 calls, each into a directory of its own: no flush can be shared, so
    // this is the rate before group commit, measured in the same run.
    const apart = Array.from({ length: CONCURRENT_WRITES }, (_, i) => batch(`${impl} apart ${i}`, 1)).flat();
    list.push({
      ...row(`${impl} ${CONCURRENT_WRITES} concurrent atomicWrite full, a directory each`, impl, 'atomicWrite', 'async', () =>
        Promise.all(apart.map((path) => lib.atomicWrite(path, data, { durability: 'full' }))),
      ),
      size: `${CONCURRENT_WRITES} x 1 KiB, ${CONCURRENT_WRITES} directories`,
      ops: CONCURRENT_WRITES,
    });
    const loop = batch(`${impl} loop`);
    list.push(
      row(`${impl} atomicWriteSync loop full`, impl, 'atomicWriteSync', 'sync', () => {
        for (const path of loop) lib.atomicWriteSync(path, data, { durability: 'full' });
      }),
    );
  }
  const peer = batch('write-file-atomic');
  list.push(
    row('write-file-atomic Promise.all default (fsync)', 'peer', 'write-file-atomic', 'async', () =>
      Promise.all(peer.map((path) => writeFileAtomic(path, data))),
    ),
  );
  return list;
}

/** @returns {Promise<WriteRow[]>} */
export function runWrites(/** @type {Libs} */ cfs, /** @type {Config} */ config) {
  return inScratchDir(config.dir, 'cfs-bench-writes-', async (root) => {
    const { list, close } = writers(cfs, root);
    config.log('Atomic writes');
    try {
      const tasks = list.map((w) => ({ name: `${w.size} ${w.name}`, fn: w.fn, ops: w.ops, beforeAll: settle }));
      const rates = await measure(tasks, { ...config, ...config.writeTiming });
      return list.map((w) => {
        const r = resultOf(rates, `${w.size} ${w.name}`);
        return {
          id: writeRowId(w),
          name: w.name,
          size: w.size,
          impl: w.impl,
          api: w.api,
          mode: w.mode,
          durability: w.durability,
          rate: r.rate,
          roundRates: r.rounds,
        };
      });
    } finally {
      close();
    }
  });
}
