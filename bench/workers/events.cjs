// One event-log benchmark process. It warms up on a file of its own, says 'ready', waits
// for 'go' on stdin (so all processes start together), and prints its result as JSON.
//
//   node events.cjs append <log> <durability> <count> <inflight> [paceMs]
//       `count` EventLog appends of { w: pid, i, t: wall-clock ms }, `inflight` at a time
//       (1: each awaited before the next; `paceMs` between them, for the tail latency
//       run); prints start, end, the latency of each append (ms) and the CPU time.
//   node events.cjs raw <file> <data|full> <count>
//       the baseline of one flush per append: write + fdatasync (or fsync) of a small
//       record to a plain file opened for appending, synchronously.
//   node events.cjs tail <log> <count>
//       tails the log (which holds one event already, so 'ready' means the tail is at
//       the end and waiting) until `count` more events came; prints, for each, the time
//       from its append call to the moment this process saw it (ms).
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const [mode, file, ...rest] = process.argv.slice(2);
// Warm-up appends (on a file of the process's own, in the measured run's shape), so a run
// measures steady appends, not the JIT: one at a time, 500; 32 in flight, which are
// cheap, 4,000 (with 8 processes on 2 cores, V8's optimising compiler lags behind).
const warmupAppends = (inflight) => (inflight > 1 ? 4000 : 500);
const RAW_WARMUP = 20;
const cfs = require('../../dist/native.js');

const wallNow = () => performance.timeOrigin + performance.now();
const go = () =>
  new Promise((resolve) => {
    process.stdout.write('ready\n');
    process.stdin.once('data', () => {
      process.stdin.destroy();
      resolve();
    });
  });

async function appendLoop(durability, count, inflight, paceMs) {
  const warmPath = path.join(path.dirname(file), `warm-${process.pid}.log`);
  await appendInLoops(new cfs.EventLog(warmPath, { durability }), warmupAppends(inflight), inflight, 0, []);
  for (const f of fs.readdirSync(path.dirname(file)))
    if (f.startsWith(`warm-${process.pid}.log`)) fs.rmSync(path.join(path.dirname(file), f));
  const log = new cfs.EventLog(file, { durability });
  await go();
  const latencies = [];
  const cpu = process.cpuUsage();
  const start = wallNow();
  await appendInLoops(log, count, inflight, paceMs, latencies);
  const end = wallNow();
  const { user, system } = process.cpuUsage(cpu);
  return { start, end, latencies, cpuMicros: user + system };
}

/** `count` appends from `inflight` loops, each appending one event at a time; pushes each append's latency (ms). */
async function appendInLoops(log, count, inflight, paceMs, latencies) {
  let next = 0;
  const loop = async () => {
    while (next < count) {
      const i = next++;
      const t = wallNow();
      await log.append({ w: process.pid, i, t });
      latencies.push(wallNow() - t);
      if (paceMs > 0) await new Promise((r) => setTimeout(r, paceMs));
    }
  };
  await Promise.all(Array.from({ length: inflight }, loop));
}

async function rawLoop(durability, count) {
  const record = Buffer.alloc(80, 'x'); // about the size of a framed small event
  const flush = durability === 'full' ? fs.fsyncSync : fs.fdatasyncSync;
  const warmPath = path.join(path.dirname(file), `warm-${process.pid}.raw`);
  const warm = fs.openSync(warmPath, 'a');
  for (let i = 0; i < RAW_WARMUP; i++) {
    fs.writeSync(warm, record);
    flush(warm);
  }
  fs.closeSync(warm);
  fs.rmSync(warmPath);
  const fd = fs.openSync(file, 'a');
  await go();
  const cpu = process.cpuUsage();
  const start = wallNow();
  for (let i = 0; i < count; i++) {
    fs.writeSync(fd, record);
    flush(fd);
  }
  const end = wallNow();
  const { user, system } = process.cpuUsage(cpu);
  fs.closeSync(fd);
  return { start, end, latencies: [], cpuMicros: user + system };
}

async function tailLoop(count) {
  const log = new cfs.EventLog(file);
  const controller = new AbortController();
  const seen = [];
  let announced = false;
  let goSent;
  try {
    for await (const event of log.tail({ from: 1, signal: controller.signal })) {
      if (!announced) {
        // The first (setup) event: the tail now waits at the end of the log.
        announced = true;
        goSent = go();
        continue;
      }
      seen.push(wallNow() - event.data.t);
      if (seen.length === count) controller.abort();
    }
  } catch (err) {
    if (err.name !== 'AbortError') throw err;
  }
  await goSent;
  return { latencies: seen };
}

async function main() {
  let result;
  if (mode === 'append') result = await appendLoop(rest[0], Number(rest[1]), Number(rest[2]), Number(rest[3] ?? 0));
  else if (mode === 'raw') result = await rawLoop(rest[0], Number(rest[1]));
  else if (mode === 'tail') result = await tailLoop(Number(rest[0]));
  else throw new Error(`unknown mode ${mode}`);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((err) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
