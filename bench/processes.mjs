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
 * `processes` processes of `kind` each bump one counter `iterations` times. Returns the
 * total rate (increments per second, from the first worker's start to the last one's
 * end, so process start and exit are not counted) after checking that the counter is
 * exactly processes x iterations: no update lost.
 */
export async function counterRate(kind, { processes, iterations, durability = 'full', dir = tmpdir() }) {
  const root = mkdtempSync(join(dir, 'cfs-bench-'));
  const file = join(root, 'counter.json');
  const workers = Array.from({ length: processes }, () => start([kind, file, iterations, durability]));
  try {
    await Promise.all(workers.map((w) => w.ready));
    for (const w of workers) w.child.stdin.write('go\n');
    const outputs = await Promise.all(workers.map((w) => w.done));
    const spans = outputs.map((out) => JSON.parse(out.split('\n').find((line) => line.startsWith('{'))));
    const seconds = (Math.max(...spans.map((s) => s.end)) - Math.min(...spans.map((s) => s.start))) / 1000;
    const { n } = JSON.parse(readFileSync(file, 'utf8'));
    const expected = processes * iterations;
    if (n !== expected) throw new Error(`${kind}: counter is ${n}, expected ${expected}: lost updates`);
    // CPU time (user + sys, all threads) the workers spent in their timed loops, per increment.
    const cpuMicrosPerOp = spans.reduce((sum, s) => sum + s.cpuMicros, 0) / n;
    return { rate: n / seconds, count: n, expected, seconds, cpuMicrosPerOp };
  } finally {
    for (const w of workers) if (w.child.exitCode === null) w.child.kill();
    rmSync(root, { recursive: true, force: true });
  }
}
