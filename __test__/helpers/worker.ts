// Starting fixtures/worker.cjs children and coordinating them by their output lines.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach } from 'vitest';
import { FIXTURES, ROOT } from './spawn';

export type Impl = 'native' | 'js';

export interface Worker {
  child: ChildProcessWithoutNullStreams;
  /** Resolves with the first output line that satisfies `match`. */
  line(match?: (line: string) => boolean): Promise<string>;
  /** All output lines so far. */
  lines: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

const running = new Set<ChildProcessWithoutNullStreams>();

// A test that fails midway must not leave its children running.
afterEach(() => {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
});

export function startWorker(impl: Impl, command: string, ...args: (string | number)[]): Worker {
  const child = spawn(process.execPath, [join(FIXTURES, 'worker.cjs'), impl, command, ...args.map(String)], { cwd: ROOT });
  running.add(child);
  child.on('exit', () => running.delete(child));
  const lines: string[] = [];
  const listeners = new Set<(line: string) => void>();
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(line);
    for (const listener of listeners) listener(line);
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stderr })),
  );
  const line = (match: (line: string) => boolean = () => true) =>
    new Promise<string>((resolve, reject) => {
      const seen = lines.find(match);
      if (seen !== undefined) return resolve(seen);
      const listener = (l: string) => {
        if (match(l)) {
          listeners.delete(listener);
          resolve(l);
        }
      };
      listeners.add(listener);
      exited.then(({ code, signal, stderr }) =>
        reject(new Error(`worker ${command} exited (${code ?? signal}) before the line: ${stderr}`)),
      );
    });
  return { child, line, lines, exited };
}

/** Starts `count` workers, waits until all are ready, then releases them together. */
export async function startTogether(count: number, make: (i: number) => Worker): Promise<Worker[]> {
  const workers = Array.from({ length: count }, (_, i) => make(i));
  await Promise.all(workers.map((w) => w.line((l) => l === 'ready')));
  for (const w of workers) w.child.stdin.write('go\n');
  return workers;
}

/** Waits for every worker to exit and fails with its stderr if one did not succeed. */
export async function allSucceed(workers: Worker[]): Promise<void> {
  const results = await Promise.all(workers.map((w) => w.exited));
  for (const r of results) if (r.code !== 0) throw new Error(`worker failed (${r.code ?? r.signal}): ${r.stderr}`);
}
