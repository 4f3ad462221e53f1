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

/**
 * Rate ratios of `a` to `b` measured in pairs: `batch` calls of one, then `batch` of the
 * other (the order alternating), `pairs` times. Each ratio compares two runs a few ms
 * apart, so the bursts of a shared VM, which move whole rounds of `measure` by 15%, fall
 * on both sides of most pairs; the median of the ratios is the figure to quote.
 * @param {() => unknown} a
 * @param {() => unknown} b
 * @param {{ pairs: number, batch: number }} options
 * @returns {Promise<number[]>}
 */
export async function pairedRatios(a, b, { pairs, batch }) {
  const timeOf = async (/** @type {() => unknown} */ fn) => {
    const started = performance.now();
    for (let i = 0; i < batch; i++) await fn();
    return performance.now() - started;
  };
  await timeOf(a);
  await timeOf(b);
  /** @type {number[]} */
  const ratios = [];
  for (let pair = 0; pair < pairs; pair++) {
    let timeA = 0;
    let timeB = 0;
    if (pair % 2 === 0) {
      timeA = await timeOf(a);
      timeB = await timeOf(b);
    } else {
      timeB = await timeOf(b);
      timeA = await timeOf(a);
    }
    ratios.push(timeB / timeA);
  }
  return ratios;
}

/** The value at quantile `q` (0..1) of `values`, nearest rank. */
export function quantile(/** @type {number[]} */ values, /** @type {number} */ q) {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))] ?? Number.NaN;
}
