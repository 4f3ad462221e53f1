// Running N benchmark processes together and checking their shared counter.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const WORKER = new URL('./workers/counter.cjs', import.meta.url).pathname;

function start(args) {
  const child = spawn(process.execPath, [WORKER, ...args.map(String)], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  const ready = new Promise((resolve, reject) => {
    child.stdout.on('data', () => out.includes('ready\n') && resolve());
    child.on('exit', (code) => reject(new Error(`worker exited with ${code} before it was ready`)));
  });
  const done = new Promise((resolve, reject) =>
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`worker ${args[0]} failed with ${code}`)))),
  );
  return { child, ready, done };
}

/**
 * `processes` processes of `kind` each bump one counter `iterations` times; returns the
 * total rate (increments per second of wall time) after checking no update was lost.
 */
export async function counterRate(kind, { processes, iterations, durability = 'full' }) {
  const dir = mkdtempSync(join(tmpdir(), 'cfs-bench-'));
  const file = join(dir, 'counter.json');
  try {
    const workers = Array.from({ length: processes }, () => start([kind, file, iterations, durability]));
    await Promise.all(workers.map((w) => w.ready));
    const started = performance.now();
    for (const w of workers) w.child.stdin.write('go\n');
    await Promise.all(workers.map((w) => w.done));
    const seconds = (performance.now() - started) / 1000;
    const { n } = JSON.parse(readFileSync(file, 'utf8'));
    if (n !== processes * iterations) throw new Error(`${kind}: counter is ${n}, expected ${processes * iterations}: lost updates`);
    return n / seconds;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
