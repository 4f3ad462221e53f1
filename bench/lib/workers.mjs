// @ts-check
// Starting benchmark worker processes that say 'ready', wait for 'go' on stdin, and
// print one JSON line of results before they exit.
import { spawn } from 'node:child_process';

/**
 * Spawns `node <script> ...args`; `ready` resolves on its 'ready' line, `done` with its JSON line.
 * @param {string} script
 * @param {unknown[]} args
 */
export function startWorker(script, args) {
  const child = spawn(process.execPath, [script, ...args.map(String)], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8');
  /** @type {Promise<void>} */
  const ready = new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('ready\n')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`${script} exited with ${code} before it was ready`)));
  });
  /** @type {Promise<any>} the worker's JSON line, as the worker script defines it */
  const done = new Promise((resolve, reject) =>
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${script} ${args.join(' ')} failed with ${code}`));
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (!line) return reject(new Error(`${script} printed no result`));
      resolve(JSON.parse(line));
    }),
  );
  ready.catch(() => {}); // a worker that fails later rejects `done`; this one is awaited first anyway
  return { child, ready, done, go: () => child.stdin.write('go\n') };
}

/**
 * Starts `count` workers, waits until all are ready, starts them together; resolves with their results.
 * @param {string} script
 * @param {(index: number) => unknown[]} argsFor
 * @param {number} count
 * @returns {Promise<any[]>} each worker's JSON line
 */
export async function runTogether(script, argsFor, count) {
  const workers = Array.from({ length: count }, (_, i) => startWorker(script, argsFor(i)));
  try {
    await Promise.all(workers.map((w) => w.ready));
    for (const w of workers) w.go();
    return await Promise.all(workers.map((w) => w.done));
  } finally {
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill();
  }
}

/** The p-th percentile (0-100) of `values` (nearest rank). */
export function percentile(/** @type {number[]} */ values, /** @type {number} */ p) {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}
