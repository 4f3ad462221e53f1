// First benchmark of the foundation (issue 2): native vs the pure-JS fallback, side by
// side in one run. `node bench/foundation.mjs` after `npm run build`.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';

const require = createRequire(import.meta.url);
const root = fileURLToPath(new URL('..', import.meta.url));
const impls = { native: require('../dist/native.js'), js: require('../dist/js.js') };
const dir = mkdtempSync(join(tmpdir(), 'cfs-bench-'));
const kib = Buffer.alloc(1024, 7);

function opsPerSecond(task) {
  return task.result?.latency ? 1000 / task.result.latency.mean : Number.NaN;
}

async function micro() {
  const bench = new Bench({ time: 1000, warmupTime: 200 });
  for (const [name, cfs] of Object.entries(impls)) {
    const lockPath = join(dir, `${name}.lock`);
    const lock = new cfs.FileLock(lockPath);
    bench.add(`${name}: lock acquireSync+release`, () => {
      lock.acquireSync();
      lock.release();
    });
    bench.add(`${name}: lock await acquire+release`, async () => {
      await lock.acquire();
      lock.release();
    });
    for (const durability of ['none', 'full']) {
      const target = join(dir, `${name}-${durability}.bin`);
      bench.add(`${name}: atomicWriteSync 1 KiB ${durability}`, () => cfs.atomicWriteSync(target, kib, { durability }));
    }
  }
  await bench.run();
  return bench.tasks.map((t) => ({ task: t.name, 'ops/s': Math.round(opsPerSecond(t)) }));
}

/** 4 processes x 500 locked read-increment-write of a JSON counter; returns increments/s. */
async function contended(name, processes = 4, iterations = 500) {
  const counter = join(dir, `${name}-counter.json`);
  writeFileSync(counter, JSON.stringify({ n: 0 }));
  const worker = join(root, '__test__', 'fixtures', 'worker.cjs');
  const children = Array.from({ length: processes }, () =>
    spawn(process.execPath, [worker, name, 'counter', counter, iterations, 'locked']),
  );
  await Promise.all(children.map((c) => new Promise((resolve) => c.stdout.once('data', resolve))));
  const started = performance.now();
  for (const c of children) c.stdin.write('go\n');
  await Promise.all(children.map((c) => new Promise((resolve) => c.on('close', resolve))));
  const seconds = (performance.now() - started) / 1000;
  const { n } = JSON.parse(readFileSync(counter, 'utf8'));
  if (n !== processes * iterations) throw new Error(`${name}: lost updates (${n})`);
  return Math.round(n / seconds);
}

const rows = await micro();
for (const name of Object.keys(impls)) rows.push({ task: `${name}: 4 processes x 500 locked counter`, 'ops/s': await contended(name) });
console.log(`Node ${process.version}, ${cpus().length} x ${cpus()[0]?.model}, tmpdir ${tmpdir()}`);
console.table(rows);
rmSync(dir, { recursive: true, force: true });
