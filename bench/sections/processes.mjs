// Sections 3b and 4: many processes on one JSON counter. Each run checks the final count
// (processes x iterations, or it throws: a lost update). The single-process rate of the
// same loop, measured in the same run, is the ceiling for the contended one.

import { best, median } from '../lib/measure.mjs';
import { counterRate } from '../processes.mjs';

/** Section 3b: locked read-increment-write, ours and the peers'. */
export const COUNTER_KINDS = [
  { kind: 'native-lock', impl: 'native', name: 'native await FileLock.acquire + atomicWriteSync' },
  { kind: 'native-lock-sync', impl: 'native', name: 'native FileLock.acquireSync + atomicWriteSync' },
  { kind: 'js-lock', impl: 'js', name: 'js await FileLock.acquire + atomicWriteSync' },
  { kind: 'fsx-sync', impl: 'peer', name: 'fs-native-extensions waitForLockSync + write-file-atomic sync' },
  { kind: 'fsx-async', impl: 'peer', name: 'fs-native-extensions await waitForLock + write-file-atomic' },
  { kind: 'peer', impl: 'peer', name: 'proper-lockfile + write-file-atomic' },
];

/** Section 4: the store's two update paths. */
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
export async function runProcesses(kinds, config, label) {
  const { processes, iterations, rounds, durabilities } = config.contention;
  const rows = [];
  for (const durability of durabilities) {
    const runs = new Map(kinds.map((k) => [k.kind, { one: [], many: [], oneCpu: [], manyCpu: [] }]));
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? kinds : [...kinds].reverse();
      for (const k of order) {
        const one = await counterRate(k.kind, { processes: 1, iterations: processes * iterations, durability, dir: config.dir });
        const many = await counterRate(k.kind, { processes, iterations, durability, dir: config.dir });
        const r = runs.get(k.kind);
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
    for (const k of kinds) {
      const r = runs.get(k.kind);
      const one = best(r.one);
      const many = best(r.many);
      rows.push({
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
      });
    }
  }
  return rows;
}
