// Starting fixtures/worker.cjs children and coordinating them by their output lines.
import { type Child, startFixture } from './spawn';

export type Impl = 'native' | 'js';

/** A worker.cjs child (see spawn.ts): `line(match)` waits for its output, `process` is the child. */
export type Worker = Child;

export function startWorker(impl: Impl, command: string, ...args: (string | number)[]): Worker {
  return startFixture('worker.cjs', [impl, command, ...args]);
}

/** Starts `count` workers, waits until all are ready, then releases them together. */
export async function startTogether(count: number, make: (i: number) => Worker): Promise<Worker[]> {
  const workers = Array.from({ length: count }, (_, i) => make(i));
  await Promise.all(workers.map((w) => w.line((l) => l === 'ready')));
  for (const w of workers) w.send('go');
  return workers;
}

/** Waits for every worker to exit and fails with its stderr if one did not succeed. */
export async function allSucceed(workers: Worker[]): Promise<void> {
  const results = await Promise.all(workers.map((w) => w.exited));
  for (const r of results) if (r.code !== 0) throw new Error(`worker failed (${r.code ?? r.signal}): ${r.stderr}`);
}
