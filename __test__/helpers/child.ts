// A long-running child process the test talks to line by line: it prints a line when
// it reaches a point (e.g. 'locked'), the test answers on its stdin. Waiting on those
// lines and on the 'exit' event is how tests synchronise with children, never sleeps.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import type { Finished } from './spawn';
import { ROOT } from './spawn';

export interface Child {
  readonly process: ChildProcessWithoutNullStreams;
  /** The next line the child prints; rejects if it exits first. */
  nextLine(): Promise<string>;
  /** Writes one line to the child's stdin. */
  send(line: string): void;
  /** Resolves when the child has exited (and been reaped). */
  readonly exited: Promise<Finished>;
}

/** Starts `node [nodeArgs] -e script` (CommonJS, cwd = package root). */
export function startNode(script: string, env: Record<string, string | undefined> = {}, nodeArgs: string[] = []): Child {
  const child = spawn(process.execPath, [...nodeArgs, '-e', script], { cwd: ROOT, env: { ...process.env, ...env } });
  return talkTo(child, 'child');
}

/** Reads a started child's stdout line by line and writes lines to its stdin. */
export function talkTo(child: ChildProcessWithoutNullStreams, label: string): Child {
  const lines: string[] = [];
  const waiting: { resolve: (line: string) => void; reject: (err: Error) => void }[] = [];
  let stdout = '';
  let stderr = '';
  let pending = '';
  let ended = false;

  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    stdout += chunk;
    pending += chunk;
    for (let end = pending.indexOf('\n'); end >= 0; end = pending.indexOf('\n')) {
      const line = pending.slice(0, end);
      pending = pending.slice(end + 1);
      const waiter = waiting.shift();
      if (waiter) waiter.resolve(line);
      else lines.push(line);
    }
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr += chunk;
  });
  child.stdin.on('error', () => undefined); // a child that exits without reading stdin

  const exited = new Promise<Finished>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      ended = true;
      for (const waiter of waiting.splice(0))
        waiter.reject(new Error(`${label} exited (${code ?? signal}) before a line; stderr: ${stderr}`));
      resolve({ code, signal, stdout, stderr });
    });
  });

  return {
    process: child,
    exited,
    send: (line) => child.stdin.write(`${line}\n`),
    nextLine: () => {
      const line = lines.shift();
      if (line !== undefined) return Promise.resolve(line);
      if (ended) return Promise.reject(new Error(`${label} already exited; stderr: ${stderr}`));
      return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
    },
  };
}
