// @ts-check
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

/**
 * @typedef {import('../lib/types.d.mts').Config} Config
 * @typedef {import('../lib/types.d.mts').NativeLib} NativeLib
 * @typedef {import('../lib/types.d.mts').TaskRun} TaskRun
 * @typedef {import('../lib/types.d.mts').TaskRound} TaskRound
 * @typedef {import('../lib/types.d.mts').TaskRow} TaskRow
 * @typedef {{ claimed: string[], start: number, end: number, latencies: number[], cpuMicros: number }} WorkerOutput
 *   what a tasks worker prints: the IDs it claimed, its span (ms, wall clock), each claim's latency, its CPU time
 */

/**
 * Which runs: `workers` claimers, each a process (`processes`) or a loop of one process.
 * @type {TaskRun[]}
 */
export const TASK_RUNS = [1, 8, 32].flatMap((workers) => [
  { id: `processes-${workers}`, mode: /** @type {const} */ ('processes'), workers },
  ...(workers > 1 ? [{ id: `in-process-${workers}`, mode: /** @type {const} */ ('in-process'), workers }] : []),
]);

async function fillQueue(/** @type {NativeLib} */ cfs, /** @type {string} */ dir, /** @type {number} */ count) {
  const queue = new cfs.TaskQueue(dir);
  for (let i = 0; i < count; i++) await queue.add({ i });
}

/**
 * One run: fill a queue with `tasks`, drain it, check it.
 * @param {NativeLib} cfs
 * @param {TaskRun} run
 * @param {number} tasks
 * @param {string} baseDir
 * @returns {Promise<TaskRound>}
 */
async function drainOnce(cfs, run, tasks, baseDir) {
  const root = mkdtempSync(join(baseDir, 'cfs-bench-tasks-'));
  const dir = join(root, 'queue');
  try {
    await fillQueue(cfs, dir, tasks);
    const processes = run.mode === 'processes' ? run.workers : 1;
    const loops = run.mode === 'processes' ? 1 : run.workers;
    const spawned = performance.timeOrigin + performance.now();
    /** @type {WorkerOutput[]} */
    const outputs = await runTogether(WORKER, () => ['native', dir, loops], processes);
    const claimed = outputs.flatMap((o) => o.claimed);
    const doubleClaims = claimed.length - new Set(claimed).size;
    const done = readdirSync(join(dir, 'done')).filter((n) => n.endsWith('.json')).length;
    const left = ['ready', 'claimed'].map((s) => readdirSync(join(dir, s)).filter((n) => n.endsWith('.json')).length);
    const [ready = 0, claimedLeft = 0] = left;
    if (doubleClaims !== 0 || done !== tasks || ready + claimedLeft !== 0) {
      throw new Error(
        `tasks ${run.id}: ${doubleClaims} double claims, ${done}/${tasks} done, ${ready} ready and ${claimedLeft} claimed left`,
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

/** @returns {Promise<TaskRow[]>} */
export async function runTasks(/** @type {Config} */ config) {
  const { rounds, tasks } = config.taskQueue;
  const require = createRequire(import.meta.url);
  /** @type {NativeLib} */
  const cfs = require('../../dist/native.js');
  const all = TASK_RUNS.map((run) => ({ run, results: /** @type {TaskRound[]} */ ([]) }));
  for (let round = 0; round < rounds; round++) {
    for (const { run, results } of round % 2 === 0 ? all : [...all].reverse()) {
      const result = await drainOnce(cfs, run, tasks, config.dir);
      results.push(result);
      config.log(
        `  tasks ${run.id}: ${Math.round(result.rate)}/s (${Math.round(result.rateWithStart)}/s with process start), ` +
          `claim p50 ${result.claimP50.toFixed(2)} ms p99 ${result.claimP99.toFixed(2)} ms, ${result.doubleClaims} double claims ` +
          `(round ${round + 1}/${rounds})`,
      );
    }
  }
  return all.map(({ run, results }) => {
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
