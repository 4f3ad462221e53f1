// Store throughput (issue 4): store.update and updateOptimistic, 1 and 4 processes,
// native vs the pure-JS fallback vs proper-lockfile + write-file-atomic, in one run.
// `npm run build && node bench/store.mjs [iterations]`
import { cpus, tmpdir } from 'node:os';
import { counterRate } from './processes.mjs';

const iterations = Number(process.argv[2] ?? 300);
const rows = [];
for (const durability of ['full', 'none']) {
  for (const kind of ['native-update', 'js-update', 'native-optimistic', 'js-optimistic', 'native-lock', 'js-lock', 'peer']) {
    const one = await counterRate(kind, { processes: 1, iterations: iterations * 2, durability });
    const four = await counterRate(kind, { processes: 4, iterations, durability });
    rows.push({
      durability,
      kind,
      '1 process /s': Math.round(one),
      '4 processes /s': Math.round(four),
      '4 vs 1': `${((four / one) * 100).toFixed(0)}%`,
    });
  }
}
console.log(`Node ${process.version}, ${cpus().length} x ${cpus()[0]?.model}, files in ${tmpdir()}`);
console.table(rows);
