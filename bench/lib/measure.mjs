// @ts-check
// Timing with tinybench 6 (run directly: `vitest bench` embeds tinybench 2). A task's
// rate is calls / measured time (1000 / mean latency in ms), times the number of
// operations one call does. Every section runs its tasks `rounds` times, in alternating
// order (forward, then backward) so a slow drift of the machine falls evenly on all of
// them, and reports each task's best round: other work on the machine (builds, tests,
// their fsyncs) only ever slows a round down, and on this shared 2-core VM it comes in
// bursts that can ruin one round of one task and spare the next.
import { Bench, hrtimeNow } from 'tinybench';

/**
 * @typedef {object} TaskSpec
 * @property {string} name unique in its section
 * @property {() => unknown} fn one call; may be async
 * @property {number} [ops] operations per call (IDs in a batch, writes in a loop); default 1
 * @property {() => void | Promise<void>} [beforeAll] runs before each round's warmup and run of this task
 */

/**
 * @typedef {{ rate: number, rounds: number[], rme: number[], samples: number }} Measured
 *   a task's best rate, the rate of each round, tinybench's relative margin of error per round
 */

/**
 * @param {TaskSpec[]} tasks
 * @param {{ time: number, warmupTime: number, rounds: number, log?: (line: string) => void }} options
 * @returns {Promise<Map<string, Measured>>}
 */
export async function measure(tasks, { time, warmupTime, rounds, log = () => {} }) {
  /** @type {Map<string, Measured>} */
  const results = new Map(tasks.map((t) => [t.name, { rate: 0, rounds: [], rme: [], samples: 0 }]));
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? tasks : [...tasks].reverse();
    for (const task of order) {
      const bench = new Bench({ time, warmupTime, warmupIterations: 4, iterations: 8, throws: true, timestampProvider: 'hrtimeNow' });
      bench.add(task.name, task.fn, task.beforeAll ? { beforeAll: task.beforeAll } : {});
      await bench.run();
      const result = bench.tasks[0]?.result;
      if (result?.state !== 'completed') throw (result && 'error' in result && result.error) || new Error(`${task.name}: ${result?.state}`);
      const rate = ((task.ops ?? 1) * 1000) / result.latency.mean;
      const entry = resultOf(results, task.name);
      entry.rounds.push(rate);
      entry.rme.push(result.latency.rme);
      entry.samples += result.latency.samplesCount;
      log(`  ${task.name}: ${fmtRate(rate)}/s (round ${round + 1}/${rounds})`);
    }
  }
  for (const entry of results.values()) entry.rate = best(entry.rounds);
  return results;
}

/** A task's entry in the results of `measure`; every task has one. */
export function resultOf(/** @type {Map<string, Measured>} */ results, /** @type {string} */ name) {
  const entry = results.get(name);
  if (!entry) throw new Error(`bench: no measurement named ${name}`);
  return entry;
}

export function best(/** @type {number[]} */ values) {
  return Math.max(...values);
}

export function median(/** @type {number[]} */ values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const at = (/** @type {number} */ i) => sorted[i] ?? Number.NaN;
  return sorted.length % 2 ? at(mid) : (at(mid - 1) + at(mid)) / 2;
}

/** 1234567 -> '1,234,567'; small rates keep one decimal. */
export function fmtRate(/** @type {number} */ rate) {
  if (!Number.isFinite(rate)) return String(rate);
  return rate >= 100 ? Math.round(rate).toLocaleString('en-US') : rate.toFixed(1);
}

export function fmtRatio(/** @type {number} */ ratio) {
  return Number.isFinite(ratio) ? `${ratio.toFixed(2)}x` : 'n/a';
}

export const now = hrtimeNow;
