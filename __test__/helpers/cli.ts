// Running the built CLI (dist/cli.js) in real child processes, as a user's shell would.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { type Finished, ROOT } from './spawn';

export const CLI = join(ROOT, 'dist', 'cli.js');

export interface CliRun extends Finished {
  /** From spawn to exit, in ms. */
  ms: number;
}

export interface RunningCli {
  readonly child: ChildProcessWithoutNullStreams;
  readonly exited: Promise<CliRun>;
  /** Resolves with the stdout so far once `match` finds what it waits for; rejects if the CLI exits first. */
  output(match: RegExp): Promise<RegExpMatchArray>;
}

export interface CliOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
}

const running = new Set<ChildProcessWithoutNullStreams>();

// A test that fails midway must not leave its CLIs (and what they run) behind.
afterEach(() => {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
});

/**
 * Starts `node dist/cli.js ...args`. The environment never picks the pure-JS fallback
 * by accident: the tests hold native locks themselves to see the CLI's.
 */
export function startCli(args: readonly string[], options: CliOptions = {}): RunningCli {
  const started = performance.now();
  const env = { ...process.env, CONCURRENT_FS_IMPL: undefined, ...options.env };
  const child = spawn(process.execPath, [CLI, ...args], { cwd: options.cwd ?? ROOT, env });
  // A test that kills the CLI mid-stream can leave a write to its stdin unfinished: the
  // EPIPE that follows is the kill's doing, not a failure.
  child.stdin.on('error', () => undefined);
  running.add(child);
  let stdout = '';
  let stderr = '';
  const listeners = new Set<() => void>();
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    for (const listener of listeners) listener();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<CliRun>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      running.delete(child);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - started });
    });
  });
  const output = (match: RegExp) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = () => {
        const found = stdout.match(match);
        if (!found) return;
        listeners.delete(check);
        resolve(found);
      };
      listeners.add(check);
      check();
      exited.then((r) => reject(new Error(`the CLI exited (${r.code ?? r.signal}) before printing ${match}; stderr: ${r.stderr}`)));
    });
  return { child, exited, output };
}

/** Runs the CLI to its end, with `input` (if any) as its whole stdin. */
export function runCli(args: readonly string[], options: CliOptions & { input?: string | Uint8Array } = {}): Promise<CliRun> {
  const cli = startCli(args, options);
  cli.child.stdin.on('error', () => undefined); // a CLI that exits without reading stdin
  cli.child.stdin.end(options.input);
  return cli.exited;
}
