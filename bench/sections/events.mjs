// @ts-check
// Section "events" (issue 13): EventLog appends per second for 1 and 8 processes at each
// durability, the baseline of one flush per append (write + fdatasync/fsync of a plain
// file, the same disk), and the tail latency from an append call in one process to a
// tailing reader in another seeing the event. Every append run reads the log back and
// checks it: each append there exactly once, seq contiguous from 1 (or it throws).
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { best, median } from '../lib/measure.mjs';
import { percentile, runTogether } from '../lib/workers.mjs';

const WORKER = new URL('../workers/events.cjs', import.meta.url).pathname;

/**
 * @typedef {import('../lib/types.d.mts').Config} Config
 * @typedef {import('../lib/types.d.mts').NativeLib} NativeLib
 * @typedef {import('../lib/types.d.mts').EventRun} EventRun
 * @typedef {import('../lib/types.d.mts').AppendRound} AppendRound
 * @typedef {import('../lib/types.d.mts').EventRow} EventRow
 * @typedef {import('../lib/types.d.mts').TailRow} TailRow
 * @typedef {import('../lib/types.d.mts').TailRound} TailRound
 * @typedef {{ start: number, end: number, latencies: number[], cpuMicros: number }} WorkerOutput
 *   what an append worker prints: its span (ms, wall clock), each append's latency, its CPU time
 */

/**
 * The append runs; `count` is per process (the config's totals split among them).
 * `inflight`: appends a process has pending at once (1: each awaited before the next;
 * 32: 32 loops in the process, so its appends can share writes and flushes).
 */
export function eventRuns(/** @type {import('../lib/types.d.mts').EventCounts} */ { none, flushed, batched }, inflights = [1, 32]) {
  /** @type {EventRun[]} */
  const runs = [];
  for (const durability of /** @type {const} */ (['none', 'data', 'full'])) {
    for (const processes of [1, 8]) {
      for (const inflight of inflights) {
        const total = durability === 'none' ? none : inflight > 1 ? batched : flushed;
        runs.push({
          id: `append-${durability}-${processes}${inflight > 1 ? `-inflight${inflight}` : ''}`,
          kind: 'append',
          durability,
          processes,
          inflight,
          count: Math.round(total / processes),
        });
      }
    }
  }
  for (const durability of /** @type {const} */ (['data', 'full'])) {
    for (const processes of [1, 8]) {
      runs.push({
        id: `raw-${durability}-${processes}`,
        kind: 'raw',
        durability,
        processes,
        inflight: 1,
        count: Math.round(flushed / processes),
      });
    }
  }
  return runs;
}

/** Reads the log back: every (worker, i) once, seq 1..total without a gap. */
async function checkLog(
  /** @type {NativeLib} */ cfs,
  /** @type {string} */ path,
  /** @type {EventRun} */ run,
  /** @type {WorkerOutput[]} */ outputs,
) {
  const expected = run.processes * run.count;
  let seq = 0;
  const seen = new Set();
  for await (const event of new cfs.EventLog(path).read()) {
    if (event.seq !== seq + 1) throw new Error(`events ${run.id}: seq ${event.seq} after ${seq}`);
    seq = event.seq;
    // The workers append `{ w, i, t }`: worker index, append index, wall clock.
    const { w, i } = /** @type {{ w: number, i: number }} */ (event.data);
    seen.add(`${w}:${i}`);
  }
  if (seq !== expected || seen.size !== expected) {
    throw new Error(`events ${run.id}: ${seq} records, ${seen.size} distinct appends, expected ${expected} (${outputs.length} workers)`);
  }
}

/** @returns {Promise<AppendRound>} */
async function appendOnce(/** @type {NativeLib} */ cfs, /** @type {EventRun} */ run, /** @type {string} */ baseDir) {
  const root = mkdtempSync(join(baseDir, 'cfs-bench-events-'));
  const path = join(root, run.kind === 'raw' ? 'plain.bin' : 'events.log');
  try {
    /** @type {WorkerOutput[]} */
    const outputs = await runTogether(WORKER, () => [run.kind, path, run.durability, run.count, run.inflight], run.processes);
    if (run.kind === 'append') await checkLog(cfs, path, run, outputs);
    const start = Math.min(...outputs.map((o) => o.start));
    const end = Math.max(...outputs.map((o) => o.end));
    const total = run.processes * run.count;
    const latencies = outputs.flatMap((o) => o.latencies);
    return {
      rate: total / ((end - start) / 1000),
      appendP50: percentile(latencies, 50),
      appendP99: percentile(latencies, 99),
      cpuMicrosPerAppend: outputs.reduce((sum, o) => sum + o.cpuMicros, 0) / total,
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** An appender paced `paceMs` apart and a tailing reader, each a process; latencies as the reader saw them. */
/** @returns {Promise<TailRound>} */
async function tailOnce(
  /** @type {NativeLib} */ cfs,
  /** @type {import('../lib/types.d.mts').TailConfig} */ { count, paceMs, durability },
  /** @type {string} */ baseDir,
) {
  const root = mkdtempSync(join(baseDir, 'cfs-bench-tail-'));
  const path = join(root, 'events.log');
  try {
    await new cfs.EventLog(path, { durability }).append({ setup: true });
    /** @type {{ latencies: number[] }[]} */
    const [reader = { latencies: [] }] = await runTogether(
      WORKER,
      (i) => (i === 0 ? ['tail', path, count] : ['append', path, durability, count, 1, paceMs]),
      2,
    );
    return { p50: percentile(reader.latencies, 50), p99: percentile(reader.latencies, 99), events: reader.latencies.length };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** @returns {Promise<(EventRow | TailRow)[]>} */
export async function runEvents(/** @type {Config} */ config) {
  const { rounds, counts, tail } = config.events;
  const require = createRequire(import.meta.url);
  /** @type {NativeLib} */
  const cfs = require('../../dist/native.js');
  const all = eventRuns(counts).map((run) => ({ run, results: /** @type {AppendRound[]} */ ([]) }));
  /** @type {TailRound[]} */
  const tails = [];
  for (let round = 0; round < rounds; round++) {
    for (const { run, results } of round % 2 === 0 ? all : [...all].reverse()) {
      const result = await appendOnce(cfs, run, config.dir);
      results.push(result);
      config.log(
        `  events ${run.id} (${run.processes} x ${run.count}, ${run.inflight} in flight): ${Math.round(result.rate)}/s` +
          `${run.kind === 'append' ? `, append p50 ${result.appendP50.toFixed(2)} ms p99 ${result.appendP99.toFixed(2)} ms` : ''} ` +
          `(round ${round + 1}/${rounds})`,
      );
    }
    const t = await tailOnce(cfs, tail, config.dir);
    tails.push(t);
    config.log(
      `  events tail: p50 ${t.p50.toFixed(2)} ms p99 ${t.p99.toFixed(2)} ms over ${t.events} events (round ${round + 1}/${rounds})`,
    );
  }
  /** @type {(EventRow | TailRow)[]} */
  const rows = all.map(({ run, results }) => {
    return {
      ...run,
      rate: best(results.map((r) => r.rate)),
      appendP50: median(results.map((r) => r.appendP50)),
      appendP99: median(results.map((r) => r.appendP99)),
      cpuMicrosPerAppend: median(results.map((r) => r.cpuMicrosPerAppend)),
      rounds: results,
    };
  });
  rows.push({
    id: 'tail',
    kind: 'tail',
    durability: tail.durability,
    processes: 1,
    count: tail.count,
    paceMs: tail.paceMs,
    tailP50: median(tails.map((t) => t.p50)),
    tailP99: median(tails.map((t) => t.p99)),
    rounds: tails,
  });
  return rows;
}
