// Every child process a test starts, three ways:
// - run…: to completion, collecting stdout/stderr (`runSync`, `runNode` synchronously,
//   `run`, `runFixture` asynchronously);
// - start…: a long-running child the test talks to line by line (`start`, `startNode`,
//   `startFixture`, or `talkTo` for one spawned with special stdio). It prints a line
//   when it reaches a point (e.g. 'locked'), the test answers on its stdin. Waiting on
//   those lines and on `exited` is how tests synchronise with children, never sleeps;
// - behind a wrapper: each takes an argv, or a `wrapper` (strace, setpriv, prlimit, ...)
//   put in front of node.
// Every started child is SIGKILLed after the test that started it, so a test failing
// midway leaves nothing running (and holding locks) for the next one.
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterEach } from 'vitest';

export const ROOT = join(__dirname, '..', '..');
export const FIXTURES = join(ROOT, '__test__', 'fixtures');

export type Env = Record<string, string | undefined>;

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface StartOptions {
  /** Added to (or, as undefined, removed from) this process's environment. */
  env?: Env;
  /** Default: the package root. */
  cwd?: string;
  /** Its own process group (to kill it with its children, or keep it from the test's). */
  detached?: boolean;
  /** Names the child in errors; default: the command. */
  label?: string;
  /** Descriptors the child inherits as its fd 3, 4, ... (e.g. a held lock's). */
  fds?: readonly number[];
}

export interface FixtureOptions extends Omit<StartOptions, 'cwd'> {
  /** Put in front of node, e.g. ['strace', '-f', '--']. */
  wrapper?: readonly string[];
  /** The package root the fixture is loaded from (see as-nobody.ts); default ROOT. */
  root?: string;
}

export interface Child {
  readonly process: ChildProcessWithoutNullStreams;
  /** Names it in errors. */
  readonly label: string;
  /** Every line printed so far, in order. */
  readonly lines: readonly string[];
  /** The next line that no earlier nextLine() took; rejects if the child exits first. */
  nextLine(): Promise<string>;
  /** The first line, printed so far or later, that satisfies `match`; rejects if the child exits first. */
  line(match?: (line: string) => boolean): Promise<string>;
  /** Calls `listener` with every line printed from now on, as it arrives. */
  onLine(listener: (line: string) => void): void;
  /** Writes one line to the child's stdin. */
  send(line: string): void;
  /** Resolves when the child has exited (and its output has been read). */
  readonly exited: Promise<Finished>;
}

/** Runs `argv` to its end, synchronously (cwd = package root); a command that cannot start has code null. */
export function runSync(argv: readonly string[], options: StartOptions & { timeout?: number } = {}): Finished {
  const [command, ...args] = argv;
  const result = spawnSync(command!, args, {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, ...options.env },
    encoding: 'utf8',
    timeout: options.timeout,
  });
  const stderr = result.error ? `${result.stderr ?? ''}${result.error.message}` : result.stderr;
  return { code: result.status, signal: result.signal, stdout: result.stdout ?? '', stderr };
}

/** Runs `node -e script` (CommonJS, cwd = package root) to its end, synchronously. */
export function runNode(script: string, env: Env = {}): Finished {
  return runSync([process.execPath, '-e', script], { env });
}

/** Runs `argv` to its end (its stdin closed at once); resolves with what it printed. */
export function run(argv: readonly string[], options: StartOptions = {}): Promise<Finished> {
  return finish(start(argv, options));
}

/** Runs a fixture script to its end; resolves with what it printed. */
export function runFixture(name: string, args: readonly (string | number)[], options: FixtureOptions = {}): Promise<Finished> {
  return finish(startFixture(name, args, options));
}

function finish(child: Child): Promise<Finished> {
  child.process.stdin.end();
  return child.exited;
}

/** Throws with its stderr unless `finished` exited 0; returns its stdout. */
export function stdoutOf(finished: Finished, label: string): string {
  if (finished.code !== 0) throw new Error(`${label} failed (${finished.code ?? finished.signal}): ${finished.stderr}`);
  return finished.stdout;
}

/** Starts `argv` as a child the test talks to. */
export function start(argv: readonly string[], options: StartOptions = {}): Child {
  const [command, ...args] = argv;
  const child = spawn(command!, args, {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, ...options.env },
    detached: options.detached,
    stdio: ['pipe', 'pipe', 'pipe', ...(options.fds ?? [])],
  }) as ChildProcessWithoutNullStreams; // stdin, stdout and stderr are pipes
  return talkTo(child, options.label ?? command!);
}

/** Starts `node [nodeArgs] -e script` (CommonJS, cwd = package root). */
export function startNode(script: string, env: Env = {}, nodeArgs: readonly string[] = []): Child {
  return start([process.execPath, ...nodeArgs, '-e', script], { env, label: 'child' });
}

/** Starts a fixture script (behind `options.wrapper`, if given). */
export function startFixture(name: string, args: readonly (string | number)[], options: FixtureOptions = {}): Child {
  const root = options.root ?? ROOT;
  const fixture = join(root, '__test__', 'fixtures', name);
  const argv = [...(options.wrapper ?? []), process.execPath, fixture, ...args.map(String)];
  return start(argv, { label: name, ...options, cwd: root });
}

const running = new Set<ChildProcessWithoutNullStreams>();

afterEach(() => {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
});

/** Reads a started child's stdout line by line and writes lines to its stdin. */
export function talkTo(child: ChildProcessWithoutNullStreams, label: string): Child {
  running.add(child);
  const lines: string[] = [];
  const listeners = new Set<(line: string) => void>();
  let stdout = '';
  let stderr = '';
  let pending = '';
  let taken = 0;
  let ended: string | undefined;

  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    stdout += chunk;
    pending += chunk;
    for (let end = pending.indexOf('\n'); end >= 0; end = pending.indexOf('\n')) {
      const line = pending.slice(0, end);
      pending = pending.slice(end + 1);
      lines.push(line);
      for (const listener of listeners) listener(line);
    }
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr += chunk;
  });
  child.stdin.on('error', () => undefined); // a child that exits without reading stdin

  const failures = new Set<(err: Error) => void>();
  const exited = new Promise<Finished>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      running.delete(child);
      ended = `${label} exited (${code ?? signal})`;
      for (const fail of failures) fail(new Error(`${ended} before the line; stderr: ${stderr}`));
      resolve({ code, signal, stdout, stderr });
    });
  });

  /** Resolves with the line `seen` picks from the lines so far, or else with the first later line `next` picks. */
  const when = (seen: () => string | undefined, next: (line: string) => string | undefined): Promise<string> =>
    new Promise((resolve, reject) => {
      const found = seen();
      if (found !== undefined) return resolve(found);
      if (ended !== undefined) return reject(new Error(`${ended} before the line; stderr: ${stderr}`));
      const settle = () => {
        listeners.delete(look);
        failures.delete(fail);
      };
      const look = (line: string) => {
        const found = next(line);
        if (found === undefined) return;
        settle();
        resolve(found);
      };
      const fail = (err: Error) => {
        settle();
        reject(err);
      };
      listeners.add(look);
      failures.add(fail);
    });

  return {
    process: child,
    label,
    lines,
    exited,
    send: (line) => child.stdin.write(`${line}\n`),
    onLine: (listener) => listeners.add(listener),
    line: (match = () => true) =>
      when(
        () => lines.find(match),
        (line) => (match(line) ? line : undefined),
      ),
    nextLine: () => {
      const at = taken++;
      return when(
        () => lines[at],
        () => lines[at],
      );
    },
  };
}

/**
 * SIGKILLs `child` `delayMs` after its first line that satisfies `match` (a crash at a
 * random moment of what it does next); throws if it ends by itself instead.
 */
export async function killAfterLine(child: Child, match: (line: string) => boolean, delayMs: number): Promise<void> {
  child.line(match).then(
    () => setTimeout(() => child.process.kill('SIGKILL'), delayMs),
    () => undefined, // it exited first: reported below
  );
  const end = await child.exited;
  if (end.signal !== 'SIGKILL') throw new Error(`${child.label} ended by itself (${end.code}): ${end.stderr}`);
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
