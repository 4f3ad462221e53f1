// @ts-check
// Sections 3b and 4: many processes on one JSON counter. Each run checks the final count
// (processes x iterations, or it throws: a lost update). The single-process rate of the
// same loop, measured in the same run, is the ceiling for the contended one.

import { best, median } from '../lib/measure.mjs';
import { processRowId } from '../lib/row-ids.mjs';
import { counterRate } from '../processes.mjs';

/**
 * @typedef {import('../lib/types.d.mts').Config} Config
 * @typedef {import('../lib/types.d.mts').Durability} Durability
 * @typedef {import('../lib/types.d.mts').ProcessRow} ProcessRow
 * @typedef {{ kind: string, impl: ProcessRow['impl'], name: string }} Kind a loop, as the counter worker names it (`kind`)
 * @typedef {ProcessRow['roundRates']} Rounds
 */

/** Section 3b: locked read-increment-write, ours and the peers'. */
/** @type {Kind[]} */
export const COUNTER_KINDS = [
  { kind: 'native-lock', impl: 'native', name: 'native await FileLock.acquire + atomicWriteSync' },
  { kind: 'native-lock-sync', impl: 'native', name: 'native FileLock.acquireSync + atomicWriteSync' },
  { kind: 'js-lock', impl: 'js', name: 'js await FileLock.acquire + atomicWriteSync' },
  { kind: 'fsx-sync', impl: 'peer', name: 'fs-native-extensions waitForLockSync + write-file-atomic sync' },
  { kind: 'fsx-async', impl: 'peer', name: 'fs-native-extensions await waitForLock + write-file-atomic' },
  { kind: 'peer', impl: 'peer', name: 'proper-lockfile + write-file-atomic' },
];

/** Section 4: the store's two update paths. */
/** @type {Kind[]} */
export const STORE_KINDS = [
  { kind: 'native-update', impl: 'native', name: 'native store.update' },
  { kind: 'js-update', impl: 'js', name: 'js store.update' },
  { kind: 'native-optimistic', impl: 'native', name: 'native store.updateOptimistic (optimisticUpdate)' },
  { kind: 'js-optimistic', impl: 'js', name: 'js store.updateOptimistic (optimisticUpdate)' },
];

/**
 * For each kind and durability: `processes` processes x `iterations`, and one process
 * doing the same total, `rounds` times in alternating order; the best round of each.
 */
/** @returns {Promise<ProcessRow[]>} */
export async function runProcesses(/** @type {Kind[]} */ kinds, /** @type {Config} */ config, /** @type {string} */ label) {
  /** @type {ProcessRow[]} */
  const rows = [];
  for (const durability of config.contention.durabilities) {
    const runs = await roundsAt(kinds, config, label, durability);
    rows.push(...kinds.map((k) => rowOf(k, durability, config.contention, /** @type {Rounds} */ (runs.get(k.kind)))));
  }
  return rows;
}

/** Every kind at one durability, `rounds` times in alternating order: the figures of each round. */
async function roundsAt(
  /** @type {Kind[]} */ kinds,
  /** @type {Config} */ config,
  /** @type {string} */ label,
  /** @type {Durability} */ durability,
) {
  const { processes, iterations, rounds } = config.contention;
  /** @type {Map<string, Rounds>} */
  const runs = new Map(kinds.map((k) => [k.kind, { one: [], many: [], oneCpu: [], manyCpu: [] }]));
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? kinds : [...kinds].reverse();
    for (const k of order) {
      const one = await counterRate(k.kind, { processes: 1, iterations: processes * iterations, durability, dir: config.dir });
      const many = await counterRate(k.kind, { processes, iterations, durability, dir: config.dir });
      const r = /** @type {Rounds} */ (runs.get(k.kind));
      r.one.push(one.rate);
      r.many.push(many.rate);
      r.oneCpu.push(one.cpuMicrosPerOp);
      r.manyCpu.push(many.cpuMicrosPerOp);
      config.log(
        `  ${label} ${durability} ${k.kind}: 1 process ${Math.round(one.rate)}/s, ${processes} processes ${Math.round(many.rate)}/s ` +
          `(counts ${one.count}/${one.expected}, ${many.count}/${many.expected}) (round ${round + 1}/${rounds})`,
      );
    }
  }
  return runs;
}

/** A kind's row: the best round of one process and of many, the median CPU. @returns {ProcessRow} */
function rowOf(
  /** @type {Kind} */ k,
  /** @type {Durability} */ durability,
  /** @type {{ processes: number, iterations: number }} */ { processes, iterations },
  /** @type {Rounds} */ r,
) {
  const one = best(r.one);
  const many = best(r.many);
  return {
    id: processRowId({ kind: k.kind, durability }),
    name: k.name,
    kind: k.kind,
    impl: k.impl,
    durability,
    processes,
    iterations,
    oneProcess: one,
    manyProcesses: many,
    ratio: many / one,
    // CPU time of the workers' timed loops per increment (median round): what
    // contention costs beyond waiting.
    cpuMicrosPerOp: { one: median(r.oneCpu), many: median(r.manyCpu) },
    countsChecked: true,
    roundRates: r,
  };
}
