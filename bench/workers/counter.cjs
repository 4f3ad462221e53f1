// One benchmark process: `node counter.cjs <kind> <file> <iterations> <durability>` bumps a
// JSON counter `iterations` times. It says 'ready', waits for 'go' on stdin (so all
// processes start together), and prints its elapsed ms at the end.
'use strict';
const fs = require('node:fs');

const [kind, file, iterations, durability] = process.argv.slice(2);
const bump = (current) => ({ n: (current?.n ?? 0) + 1 });

const loops = {
  // The peers users would pick today: proper-lockfile around write-file-atomic.
  async peer() {
    const lockfile = require('proper-lockfile');
    const writeFileAtomic = require('write-file-atomic');
    const retries = { forever: true, minTimeout: 1, maxTimeout: 10, factor: 1.5 };
    return async () => {
      const release = await lockfile.lock(file, { retries, realpath: false });
      const current = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : undefined;
      await writeFileAtomic(file, JSON.stringify(bump(current)), { fsync: durability !== 'none' });
      await release();
    };
  },
  async 'native-update'() {
    return storeLoop(require('../../dist/native.js'), 'update');
  },
  async 'js-update'() {
    return storeLoop(require('../../dist/js.js'), 'update');
  },
  async 'native-optimistic'() {
    return storeLoop(require('../../dist/native.js'), 'updateOptimistic');
  },
  async 'js-optimistic'() {
    return storeLoop(require('../../dist/js.js'), 'updateOptimistic');
  },
  async 'native-lock'() {
    return lockLoop(require('../../dist/native.js'));
  },
  async 'js-lock'() {
    return lockLoop(require('../../dist/js.js'));
  },
};

function storeLoop(cfs, method) {
  const path = require('node:path');
  const store = new cfs.ConcurrentFileStore(path.dirname(file), { durability });
  const name = path.basename(file);
  const options = { retries: 1000, backoff: { initialDelay: 1, maxDelay: 20 } };
  return () => (method === 'update' ? store.update(name, bump) : store.updateOptimistic(name, bump, options));
}

/** The same read-increment-write as the peers', under FileLock + atomicWriteSync. */
function lockLoop(cfs) {
  const lock = new cfs.FileLock(`${file}.lock`);
  return async () => {
    await lock.acquire();
    try {
      const current = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : undefined;
      cfs.atomicWriteSync(file, JSON.stringify(bump(current)), { durability });
    } finally {
      lock.release();
    }
  };
}

async function main() {
  const step = await loops[kind]();
  process.stdout.write('ready\n');
  await new Promise((resolve) => process.stdin.once('data', resolve));
  process.stdin.destroy();
  const started = performance.now();
  for (let i = 0; i < Number(iterations); i++) await step();
  process.stdout.write(`${performance.now() - started}\n`);
}

main().catch((err) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
