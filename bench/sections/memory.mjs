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
import fs from 'node:fs';
import { join } from 'node:path';

const WORKER = new URL('../workers/memory.cjs', import.meta.url).pathname;
const MiB = 1024 * 1024;

export const PROBES = [
  { impl: 'native', what: 'lock-sync', label: 'native FileLock acquireSync + release' },
  { impl: 'native', what: 'lock-async', label: 'native await FileLock acquire + release' },
  { impl: 'native', what: 'snowflake', label: 'native Snowflake next()' },
  { impl: 'native', what: 'uuidv7', label: 'native uuidv7()' },
  { impl: 'js', what: 'lock-sync', label: 'js FileLock acquireSync + release' },
  { impl: 'js', what: 'lock-async', label: 'js await FileLock acquire + release' },
  { impl: 'js', what: 'snowflake', label: 'js Snowflake next()' },
  { impl: 'js', what: 'uuidv7', label: 'js uuidv7()' },
];

/**
 * The figures of one probe, from its samples (warmed up, then after each quarter).
 * RSS after a GC wanders by a few MiB either way between samples (malloc arenas, V8's
 * old-space pages), so a leak is judged by the end of the run against the highest RSS
 * seen in its first half: a leak keeps climbing past it, a wander does not.
 */
export function summarize(probe) {
  const s = probe.samples;
  const first = s[0];
  const last = s[s.length - 1];
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

export function runMemory(config) {
  const root = fs.mkdtempSync(join(config.dir, 'cfs-bench-memory-'));
  try {
    return PROBES.map((p) => {
      config.log(`  memory: ${p.label} x ${config.memoryOps.toLocaleString('en-US')}`);
      const out = execFileSync(
        process.execPath,
        ['--expose-gc', '--max-semi-space-size=1', WORKER, p.impl, p.what, String(config.memoryOps), root],
        {
          encoding: 'utf8',
        },
      );
      const result = JSON.parse(out);
      return summarize({ name: p.label, impl: p.impl, what: p.what, ops: result.count, seconds: result.seconds, samples: result.samples });
    });
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}
