// Section "tasks" (issue 13): TaskQueue claims + completes per second for 1, 8 and 32
// workers, as processes and as concurrent claim loops in one process. Every run checks
// that each task was claimed exactly once and ended in done/ (or it throws), and keeps
// each claim's latency.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { best, median } from '../lib/measure.mjs';
import { percentile, runTogether } from '../lib/workers.mjs';

const WORKER = new URL('../workers/tasks.cjs', import.meta.url).pathname;

/** Which runs: `workers` claimers, each a process (`processes`) or a loop of one process. */
export const TASK_RUNS = [1, 8, 32].flatMap((workers) => [
  { id: `processes-${workers}`, mode: 'processes', workers },
  ...(workers > 1 ? [{ id: `in-process-${workers}`, mode: 'in-process', workers }] : []),
]);

async function fillQueue(cfs, dir, count) {
  const queue = new cfs.TaskQueue(dir);
  for (let i = 0; i < count; i++) await queue.add({ i });
}

/** One run: fill a queue with `tasks`, drain it, check it. */
async function drainOnce(cfs, run, tasks, baseDir) {
  const root = mkdtempSync(join(baseDir, 'cfs-bench-tasks-'));
  const dir = join(root, 'queue');
  try {
    await fillQueue(cfs, dir, tasks);
    const processes = run.mode === 'processes' ? run.workers : 1;
    const loops = run.mode === 'processes' ? 1 : run.workers;
    const spawned = performance.timeOrigin + performance.now();
    const outputs = await runTogether(WORKER, () => ['native', dir, loops], processes);
    const claimed = outputs.flatMap((o) => o.claimed);
    const doubleClaims = claimed.length - new Set(claimed).size;
    const done = readdirSync(join(dir, 'done')).filter((n) => n.endsWith('.json')).length;
    const left = ['ready', 'claimed'].map((s) => readdirSync(join(dir, s)).filter((n) => n.endsWith('.json')).length);
    if (doubleClaims !== 0 || done !== tasks || left[0] + left[1] !== 0) {
      throw new Error(
        `tasks ${run.id}: ${doubleClaims} double claims, ${done}/${tasks} done, ${left[0]} ready and ${left[1]} claimed left`,
      );
    }
    const start = Math.min(...outputs.map((o) => o.start));
    const end = Math.max(...outputs.map((o) => o.end));
    const latencies = outputs.flatMap((o) => o.latencies);
    return {
      rate: tasks / ((end - start) / 1000),
      // From spawning the workers (process start, module load and a 10-task warmup each) to the last one's end.
      rateWithStart: tasks / ((end - spawned) / 1000),
      doubleClaims,
      claimP50: percentile(latencies, 50),
      claimP99: percentile(latencies, 99),
      cpuMicrosPerTask: outputs.reduce((sum, o) => sum + o.cpuMicros, 0) / tasks,
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

export async function runTasks(config) {
  const { rounds, tasks } = config.taskQueue;
  const require = createRequire(import.meta.url);
  const cfs = require('../../dist/native.js');
  const all = new Map(TASK_RUNS.map((r) => [r.id, []]));
  for (let round = 0; round < rounds; round++) {
    for (const run of round % 2 === 0 ? TASK_RUNS : [...TASK_RUNS].reverse()) {
      const result = await drainOnce(cfs, run, tasks, config.dir);
      all.get(run.id).push(result);
      config.log(
        `  tasks ${run.id}: ${Math.round(result.rate)}/s (${Math.round(result.rateWithStart)}/s with process start), ` +
          `claim p50 ${result.claimP50.toFixed(2)} ms p99 ${result.claimP99.toFixed(2)} ms, ${result.doubleClaims} double claims ` +
          `(round ${round + 1}/${rounds})`,
      );
    }
  }
  return TASK_RUNS.map((run) => {
    const results = all.get(run.id);
    return {
      ...run,
      tasks,
      rate: best(results.map((r) => r.rate)),
      rateWithStart: best(results.map((r) => r.rateWithStart)),
      doubleClaims: results.reduce((sum, r) => sum + r.doubleClaims, 0),
      claimP50: median(results.map((r) => r.claimP50)),
      claimP99: median(results.map((r) => r.claimP99)),
      cpuMicrosPerTask: median(results.map((r) => r.cpuMicrosPerTask)),
      rounds: results,
    };
  });
}
