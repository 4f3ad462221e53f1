// @ts-check
// Section 5: memory. Each probe runs in a fresh process (so nothing else the suite did
// shows in its RSS) with --expose-gc, and reports RSS and heap after a full GC once
// warmed up and after each quarter of the operations.
//
// V8's young generation is pinned at 1 MiB semi-spaces (--max-semi-space-size=1). By
// default it grows from 1 to 16 MiB semi-spaces under allocation pressure, and a
// million fast cycles are plenty of that: 10,000,000 native await acquire + release
// cycles took RSS from 50 to 92 MiB while V8's committed heap went from 6 to 37 MiB and
// its live heap after a full GC stayed at 3.0-3.3 MiB; with the pin, RSS stayed at
// 55-61 MiB over the same 10,000,000 cycles. That growth is V8 sizing its heap, not a
// leak, and it would hide one.
import { execFileSync } from 'node:child_process';
import { memoryRowId } from '../lib/row-ids.mjs';
import { inScratchDir } from '../lib/scratch.mjs';

/**
 * @typedef {import('../lib/types.d.mts').Config} Config
 * @typedef {import('../lib/types.d.mts').MemoryProbe} MemoryProbe
 * @typedef {import('../lib/types.d.mts').MemoryRow} MemoryRow
 */

const WORKER = new URL('../workers/memory.cjs', import.meta.url).pathname;
const MiB = 1024 * 1024;

/** What the memory worker repeats (`what`), and its label after the implementation. */
const PROBED = [
  { what: 'lock-sync', label: 'FileLock acquireSync + release' },
  { what: 'lock-async', label: 'await FileLock acquire + release' },
  { what: 'snowflake', label: 'Snowflake next()' },
  { what: 'uuidv7', label: 'uuidv7()' },
];

/** Each of them, native then fallback. */
export const PROBES = /** @type {const} */ (['native', 'js']).flatMap((impl) =>
  PROBED.map(({ what, label }) => ({ impl, what, label: `${impl} ${label}` })),
);

/**
 * The figures of one probe, from its samples (warmed up, then after each quarter).
 * RSS after a GC wanders by a few MiB either way between samples (malloc arenas, V8's
 * old-space pages), so a leak is judged by the end of the run against the highest RSS
 * seen in its first half: a leak keeps climbing past it, a wander does not.
 */
/** @returns {MemoryRow} */
export function summarize(/** @type {MemoryProbe} */ probe) {
  const s = probe.samples;
  const [first, last] = [s[0], s.at(-1)];
  if (!first || !last) throw new Error(`memory ${probe.name}: no samples`);
  const firstHalfMax = Math.max(...s.slice(0, Math.ceil(s.length / 2)).map((x) => x.rss));
  return {
    ...probe,
    rssStartMiB: first.rss / MiB,
    rssEndMiB: last.rss / MiB,
    rssGrowthMiB: (last.rss - first.rss) / MiB,
    rssEndOverFirstHalfMaxMiB: (last.rss - firstHalfMax) / MiB,
    heapGrowthMiB: (last.heapUsed - first.heapUsed) / MiB,
  };
}

/** @returns {Promise<MemoryRow[]>} */
export function runMemory(/** @type {Config} */ config) {
  return inScratchDir(config.dir, 'cfs-bench-memory-', async (root) =>
    PROBES.map((p) => {
      config.log(`  memory: ${p.label} x ${config.memoryOps.toLocaleString('en-US')}`);
      const out = execFileSync(
        process.execPath,
        ['--expose-gc', '--max-semi-space-size=1', WORKER, p.impl, p.what, String(config.memoryOps), root],
        {
          encoding: 'utf8',
        },
      );
      const result = JSON.parse(out);
      const { impl, what } = p;
      return summarize({
        id: memoryRowId(p),
        name: p.label,
        impl,
        what,
        ops: result.count,
        seconds: result.seconds,
        samples: result.samples,
      });
    }),
  );
}
