// One memory probe: `node --expose-gc memory.cjs <impl> <what> <count> <dir>` runs `count`
// operations of one kind and prints JSON with the RSS and V8 heap (after a full GC) once
// warmed up and at each quarter, so growth shows as a slope, not one noisy difference.
'use strict';
const path = require('node:path');

const [impl, what, count, dir] = process.argv.slice(2);
const cfs = require(impl === 'native' ? '../../dist/native.js' : '../../dist/js.js');
const total = Number(count);
const WARMUP = Math.min(50_000, Math.ceil(total / 10));

let sink;
const ops = {
  'lock-sync'() {
    const lock = new cfs.FileLock(path.join(dir, `mem-${process.pid}.lock`));
    return (n) => {
      for (let i = 0; i < n; i++) {
        lock.acquireSync();
        lock.release();
      }
    };
  },
  'lock-async'() {
    const lock = new cfs.FileLock(path.join(dir, `mem-async-${process.pid}.lock`));
    return async (n) => {
      for (let i = 0; i < n; i++) {
        await lock.acquire();
        lock.release();
      }
    };
  },
  snowflake() {
    const generator = new cfs.Snowflake({ workerId: 7 });
    return (n) => {
      for (let i = 0; i < n; i++) sink = generator.next();
    };
  },
  uuidv7() {
    return (n) => {
      for (let i = 0; i < n; i++) sink = cfs.uuidv7();
    };
  },
};

function sample(done) {
  global.gc();
  const { rss, heapTotal, heapUsed, external, arrayBuffers } = process.memoryUsage();
  return { done, rss, heapTotal, heapUsed, external, arrayBuffers };
}

async function main() {
  const run = ops[what]();
  await run(WARMUP);
  const samples = [sample(0)];
  const quarter = total / 4;
  const started = performance.now();
  for (let q = 1; q <= 4; q++) {
    await run(quarter);
    samples.push(sample(q * quarter));
  }
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(`${JSON.stringify({ impl, what, count: total, seconds, samples, sink: typeof sink })}\n`);
}

main().catch((err) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
