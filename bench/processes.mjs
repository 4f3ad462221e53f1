// @ts-check
// Running N benchmark processes together and checking their shared counter.
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inScratchDir } from './lib/scratch.mjs';
import { runTogether } from './lib/workers.mjs';

const WORKER = new URL('./workers/counter.cjs', import.meta.url).pathname;

/**
 * @typedef {{ start: number, end: number, cpuMicros: number }} Span what a counter worker prints:
 *   its timed loop's start and end (ms, wall clock) and its CPU time in it
 */

/**
 * `processes` processes of `kind` each bump one counter `iterations` times. Returns the
 * total rate (increments per second, from the first worker's start to the last one's
 * end, so process start and exit are not counted) after checking that the counter is
 * exactly processes x iterations: no update lost.
 * @param {string} kind
 * @param {{ processes: number, iterations: number, durability?: string, dir?: string }} run
 */
export function counterRate(kind, { processes, iterations, durability = 'full', dir = tmpdir() }) {
  return inScratchDir(dir, 'cfs-bench-', async (root) => {
    const file = join(root, 'counter.json');
    /** @type {Span[]} */
    const spans = await runTogether(WORKER, () => [kind, file, iterations, durability], processes);
    const seconds = (Math.max(...spans.map((s) => s.end)) - Math.min(...spans.map((s) => s.start))) / 1000;
    const { n } = JSON.parse(readFileSync(file, 'utf8'));
    const expected = processes * iterations;
    if (n !== expected) throw new Error(`${kind}: counter is ${n}, expected ${expected}: lost updates`);
    // CPU time (user + sys, all threads) the workers spent in their timed loops, per increment.
    const cpuMicrosPerOp = spans.reduce((sum, s) => sum + s.cpuMicros, 0) / n;
    return { rate: n / seconds, count: n, expected, seconds, cpuMicrosPerOp };
  });
}
