// One benchmark process: `node counter.cjs <kind> <file> <iterations> <durability>` bumps a
// JSON counter `iterations` times. It warms up on a file of its own, says 'ready', waits
// for 'go' on stdin (so all processes start together), and prints its start and end
// times (ms on the wall clock, sub-ms precise, comparable across processes) as JSON.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const [kind, file, iterations, durability] = process.argv.slice(2);
const WARMUP = 20;
const bump = (current) => ({ n: (current?.n ?? 0) + 1 });
const readCounter = (f) => (fs.existsSync(f) ? JSON.parse(fs.readFileSync(f, 'utf8')) : undefined);
const fsync = durability !== 'none';

// Each kind makes the loop body for one counter file.
const kinds = {
  // The peers users would pick today: proper-lockfile around write-file-atomic.
  peer(f) {
    const lockfile = require('proper-lockfile');
    const writeFileAtomic = require('write-file-atomic');
    const retries = { forever: true, minTimeout: 1, maxTimeout: 10, factor: 1.5 };
    return async () => {
      const release = await lockfile.lock(f, { retries, realpath: false });
      await writeFileAtomic(f, JSON.stringify(bump(readCounter(f))), { fsync });
      await release();
    };
  },
  // The fastest kernel-lock peer (OFD fcntl on a descriptor kept open), blocking wait,
  // with write-file-atomic's sync write.
  'fsx-sync'(f) {
    const fsx = require('fs-native-extensions');
    const writeFileAtomic = require('write-file-atomic');
    const fd = fs.openSync(`${f}.lk`, 'a+');
    return () => {
      fsx.waitForLockSync(fd);
      try {
        writeFileAtomic.sync(f, JSON.stringify(bump(readCounter(f))), { fsync });
      } finally {
        fsx.unlock(fd);
      }
    };
  },
  'fsx-async'(f) {
    const fsx = require('fs-native-extensions');
    const writeFileAtomic = require('write-file-atomic');
    const fd = fs.openSync(`${f}.lk`, 'a+');
    return async () => {
      await fsx.waitForLock(fd);
      try {
        await writeFileAtomic(f, JSON.stringify(bump(readCounter(f))), { fsync });
      } finally {
        fsx.unlock(fd);
      }
    };
  },
  'native-lock': (f) => lockLoop(require('../../dist/native.js'), f, false),
  'native-lock-sync': (f) => lockLoop(require('../../dist/native.js'), f, true),
  'js-lock': (f) => lockLoop(require('../../dist/js.js'), f, false),
  'native-update': (f) => storeLoop(require('../../dist/native.js'), f, 'update'),
  'js-update': (f) => storeLoop(require('../../dist/js.js'), f, 'update'),
  'native-optimistic': (f) => storeLoop(require('../../dist/native.js'), f, 'updateOptimistic'),
  'js-optimistic': (f) => storeLoop(require('../../dist/js.js'), f, 'updateOptimistic'),
};

function storeLoop(cfs, f, method) {
  const store = new cfs.ConcurrentFileStore(path.dirname(f), { durability });
  const name = path.basename(f);
  const options = { retries: 1000, backoff: { initialDelay: 1, maxDelay: 20 } };
  return () => (method === 'update' ? store.update(name, bump) : store.updateOptimistic(name, bump, options));
}

/** The same read-increment-write as the peers', under FileLock + atomicWriteSync. */
function lockLoop(cfs, f, sync) {
  const lock = new cfs.FileLock(`${f}.lock`);
  const body = () => {
    try {
      cfs.atomicWriteSync(f, JSON.stringify(bump(readCounter(f))), { durability });
    } finally {
      lock.release();
    }
  };
  if (sync) {
    return () => {
      lock.acquireSync();
      body();
    };
  }
  return async () => {
    await lock.acquire();
    body();
  };
}

const wallNow = () => performance.timeOrigin + performance.now();

async function main() {
  const make = kinds[kind];
  if (!make) throw new Error(`unknown kind ${kind}`);
  // Warm up (module loading, JIT, first opens) on a counter of this process's own.
  const warmFile = path.join(path.dirname(file), `warm-${process.pid}.json`);
  const warm = make(warmFile);
  for (let i = 0; i < WARMUP; i++) await warm();
  const step = make(file);
  process.stdout.write('ready\n');
  await new Promise((resolve) => process.stdin.once('data', resolve));
  process.stdin.destroy();
  const cpu = process.cpuUsage();
  const start = wallNow();
  for (let i = 0; i < Number(iterations); i++) await step();
  const end = wallNow();
  const { user, system } = process.cpuUsage(cpu);
  process.stdout.write(`${JSON.stringify({ start, end, cpuMicros: user + system })}\n`);
}

main().catch((err) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
