// One task-queue benchmark process: `node tasks.cjs <impl> <dir> <loops>` runs `loops`
// concurrent claim+complete loops on one TaskQueue over `dir` until no task is ready.
// It warms up on a small queue of its own, says 'ready', waits for 'go' on stdin (so all
// processes start together), and prints, as JSON: its start and end (wall-clock ms,
// comparable across processes), the IDs it claimed (the parent counts double claims),
// each claim's latency (ms) and the CPU time of the timed part.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const [impl, dir, loops] = process.argv.slice(2);
const WARMUP_TASKS = 10;
const cfs = require(`../../dist/${impl}.js`);

const wallNow = () => performance.timeOrigin + performance.now();

/** Claims and completes until a claim finds nothing ready (no task can come back: no worker dies). */
async function drain(queue, claimed, latencies) {
  for (;;) {
    const t0 = performance.now();
    const task = await queue.claim({ worker: String(process.pid) });
    if (!task) return;
    latencies.push(performance.now() - t0);
    claimed.push(task.id);
    await task.complete();
  }
}

async function main() {
  const warmDir = path.join(path.dirname(dir), `warm-${process.pid}`);
  const warm = new cfs.TaskQueue(warmDir);
  for (let i = 0; i < WARMUP_TASKS; i++) await warm.add({ i });
  await drain(warm, [], []);
  fs.rmSync(warmDir, { recursive: true, force: true });

  const queue = new cfs.TaskQueue(dir);
  process.stdout.write('ready\n');
  await new Promise((resolve) => process.stdin.once('data', resolve));
  process.stdin.destroy();
  const claimed = [];
  const latencies = [];
  const cpu = process.cpuUsage();
  const start = wallNow();
  await Promise.all(Array.from({ length: Number(loops) }, () => drain(queue, claimed, latencies)));
  const end = wallNow();
  const { user, system } = process.cpuUsage(cpu);
  process.stdout.write(`${JSON.stringify({ start, end, claimed, latencies, cpuMicros: user + system })}\n`);
}

main().catch((err) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
