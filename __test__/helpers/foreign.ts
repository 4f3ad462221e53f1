// Other programs' locks, as real processes: util-linux flock(1) and py-filelock (in a
// virtualenv made by scripts/interop-venv.sh). Each runs as a child the test talks to by
// lines, like spawn.ts's node children. Where a tool is missing the tests skip with the
// reason, except in CI (CI=true), where .ci/run installs the tools and a missing one is
// a failure.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe } from 'vitest';
import { type Child, FIXTURES, type Finished, ROOT, run, start } from './spawn';

/** Why `flock(1)` cannot be used here, or undefined when it can. */
function flockMissing(): string | undefined {
  const probe = spawnSync('flock', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) return 'flock(1) (util-linux) is not installed';
  return undefined;
}

/** The virtualenv's python with py-filelock, or why there is none. */
function pythonWithFilelock(): { python: string } | { missing: string } {
  const setup = spawnSync('bash', [join(ROOT, 'scripts', 'interop-venv.sh')], { cwd: ROOT, encoding: 'utf8' });
  if (setup.error || setup.status !== 0)
    return { missing: `no py-filelock: ${(setup.stderr || String(setup.error)).trim().split('\n').pop()}` };
  return { python: join(ROOT, setup.stdout.trim()) };
}

const IN_CI = process.env.CI === 'true';

/**
 * `describe`, skipped with the reason when a tool is `missing` outside CI; in CI the
 * suite runs and fails at once, saying what is missing.
 */
export function describeWith(missing: string | undefined, name: string, body: () => void): void {
  if (missing !== undefined && !IN_CI) console.warn(`skipping '${name}': ${missing}`);
  describe.skipIf(missing !== undefined && !IN_CI)(name, () => {
    beforeAll(() => {
      if (missing !== undefined) throw new Error(`CI=true and ${missing}: .ci/run should have installed it`);
    });
    body();
  });
}

export const FLOCK_MISSING = process.platform === 'win32' ? 'flock(1) is a Unix tool' : flockMissing();

let python: { python: string } | { missing: string } | undefined;

/** Sets up py-filelock once per test file (a few seconds the first time, then cached). */
export function pyFilelock(): { python: string } | { missing: string } {
  python ??= process.platform === 'win32' ? { missing: 'the py-filelock tests are written for Unix' } : pythonWithFilelock();
  return python;
}

const PY_FIXTURE = join(FIXTURES, 'py-filelock.py');

/** The py-filelock fixture (see fixtures/py-filelock.py for its modes). */
export function startPython(args: readonly string[]): Child {
  return start([pythonPath(), PY_FIXTURE, ...args]);
}

export function runPython(args: readonly string[]): Promise<Finished> {
  return run([pythonPath(), PY_FIXTURE, ...args]);
}

function pythonPath(): string {
  const found = pyFilelock();
  if ('missing' in found) throw new Error(found.missing);
  return found.python;
}

/**
 * flock(1) holding `path` until it is sent a line (or killed): `flock PATH sh -c ...`
 * prints `locked` once it holds. With `close`, flock(1)'s own descriptor alone holds the
 * lock (-o), so killing flock(1) frees it though its command lives on.
 */
export async function flockHolder(path: string, options: { shared?: boolean; close?: boolean } = {}): Promise<Child> {
  const flags = [options.shared ? '-s' : '-x', ...(options.close ? ['-o'] : [])];
  const holder = start(['flock', ...flags, path, 'sh', '-c', 'echo locked; read line']);
  const line = await holder.nextLine();
  if (line !== 'locked') throw new Error(`flock(1) printed '${line}'`);
  return holder;
}

/** `flock -n [-s] PATH true`: 0 when flock(1) got the lock at once, 1 when it was held. */
export async function flockTry(path: string, shared = false): Promise<number | null> {
  return (await run(['flock', '-n', shared ? '-s' : '-x', path, 'true'])).code;
}
