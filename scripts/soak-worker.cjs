// One soak worker: `node soak-worker.cjs <impl> <dir> <name>`. Runs mixed operations
// until its stdin ends (or it is killed), reporting on stdout, one event a line:
//   try <token> / ack <token>        an append to the store document `log-<10 s period>.json`
//                                    (a new document every 10 s keeps each one small, so
//                                    memory per operation stays flat over a long soak)
//   inc                              an increment of `counter` under a lock, committed
//   viol <message>                   an invariant this worker saw broken
//   stat <ops> <fds> <rss> <heap>    every 2 s: operations so far, open fds, RSS and V8 heap bytes
'use strict';
const fs = require('node:fs');
const { join } = require('node:path');

const [impl, dir, name] = process.argv.slice(2);
const cfs = require(impl === 'js' ? '../dist/js.js' : '../dist/native.js');

const say = (line) => process.stdout.write(`${line}\n`);
const store = new cfs.ConcurrentFileStore(join(dir, 'store'), { durability: 'none' });
const ids = new cfs.Snowflake({ workerId: cfs.machineWorkerId() });

/** Whole payloads of the shared blob: a tag line, then the tag repeated. */
function payload(tag) {
  return Buffer.concat([Buffer.from(`${tag}\n`), Buffer.alloc(32 * 1024, tag.at(-1))]);
}

let stopping = false;
let ops = 0;
let lastId = 0n;

async function step(i) {
  switch (i % 5) {
    case 0:
    case 1: {
      const token = `${name}-${i}`;
      say(`try ${token}`);
      const append = (doc) => ({ tokens: [...(doc?.tokens ?? []), token] });
      const doc = `log-${Math.floor(Date.now() / 10_000)}.json`;
      if (i % 5 === 0) await store.update(doc, append);
      else await store.updateOptimistic(doc, append, { retries: 100_000, backoff: { initialDelay: 1, maxDelay: 20 } });
      say(`ack ${token}`);
      break;
    }
    case 2: {
      await cfs.atomicWrite(join(dir, 'blob.bin'), payload(`${name}-${i}`), { durability: 'none' });
      const read = fs.readFileSync(join(dir, 'blob.bin'));
      const tag = read.subarray(0, read.indexOf(10)).toString();
      if (!payload(tag).equals(read)) say(`viol torn blob read (${read.length} bytes)`);
      break;
    }
    case 3: {
      const counter = join(dir, 'counter');
      await cfs.withLock(`${counter}.lock`, () => {
        const n = fs.existsSync(counter) ? Number(fs.readFileSync(counter, 'utf8')) : 0;
        // Only the lock keeps the count exact; the atomic write keeps a kill from tearing it.
        cfs.atomicWriteSync(counter, String(n + 1), { durability: 'none' });
        say('inc');
      });
      break;
    }
    default: {
      for (const id of ids.nextBatch(64)) {
        if (id <= lastId) say(`viol snowflake ${id} after ${lastId}`);
        lastId = id;
      }
    }
  }
  ops++;
}

async function main() {
  process.stdin.on('end', () => {
    stopping = true;
  });
  process.stdin.resume();
  const stat = () => {
    const { rss, heapUsed } = process.memoryUsage();
    say(`stat ${ops} ${fs.readdirSync('/proc/self/fd').length} ${rss} ${heapUsed}`);
  };
  const timer = setInterval(stat, 2000);
  stat();
  for (let i = 0; !stopping; i++) {
    try {
      await step(i);
    } catch (err) {
      say(`viol ${err.code ?? ''} ${err.message.split('\n')[0]}`);
    }
  }
  clearInterval(timer);
  stat();
  process.exit(0);
}

main();
