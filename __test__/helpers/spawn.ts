// Running real child processes against the built package (dist/).
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..', '..');
export const FIXTURES = join(ROOT, '__test__', 'fixtures');

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `node -e script` (CommonJS, cwd = package root) and waits for it. */
export function runNode(script: string, env: Record<string, string | undefined> = {}): Finished {
  const result = spawnSync(process.execPath, ['-e', script], { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8' });
  return { code: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
}

/** Starts a fixture script (behind `wrapper`, e.g. strace, if given); resolves when it exits. */
export function runFixture(
  name: string,
  args: string[],
  env: Record<string, string | undefined> = {},
  wrapper: readonly string[] = [],
): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const [command, ...rest] = [...wrapper, process.execPath, join(FIXTURES, name), ...args];
    const child = spawn(command!, rest, { cwd: ROOT, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Whether a process with this pid exists (signal 0 delivers nothing, only checks). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
