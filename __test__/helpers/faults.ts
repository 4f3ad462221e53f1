// Fault injection for the reliability tests: run a child node process that uses the
// public API, and make one of its system calls fail, or SIGKILL it at that call.
//
// Two mechanisms, both seeing real system calls of a real process:
//
// - strace (`-e inject=...`): the tool of choice where a call is unambiguous by name
//   and order on one thread (e.g. the sync API's first fsync). Its limits here: `-P`
//   filters by exact path only, and temp files have random names; `when=N` counts per
//   thread, while the async paths hop between libuv threadpool threads.
// - An LD_PRELOAD shim (fixtures/fault-shim.c, built here with `cc`): matches the path
//   a call touches against a glob (for an fd, the path behind it) and counts matching
//   calls across the whole process, so "the 1st fsync of the temp file" means exactly
//   that, on any thread. Node's own descriptors (stdout, eventfds) never match.
//
// Both need libuv's io_uring off (UV_USE_IO_URING=0): io_uring submits fs work without
// a system call per operation, and neither mechanism would see it. EINTR is never
// injected: Rust's std retries it forever, and so does libuv for some calls.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURES, runFixture, runSync } from './spawn';

const LINUX = process.platform === 'linux';

export const HAVE_STRACE = LINUX && spawnSync('strace', ['-qq', '-o', '/dev/null', 'true']).status === 0;
export const HAVE_CC = LINUX && spawnSync('cc', ['--version']).status === 0;

/** Why a fault suite is skipped here, or undefined when it can run. */
export const SHIM_MISSING = !LINUX
  ? 'fault injection needs Linux (/proc/self/fd, LD_PRELOAD)'
  : !HAVE_CC
    ? 'fault injection needs a C compiler (`cc`) to build the LD_PRELOAD shim; .ci/run installs it'
    : undefined;
export const STRACE_MISSING = HAVE_STRACE ? undefined : 'strace is missing (or ptrace is refused); .ci/run installs it';

/** Environment every faulted child gets: no io_uring, so every fs step is a system call. */
export const FAULT_ENV = { UV_USE_IO_URING: '0' };

let shimPath: string | undefined;

/** Builds the shim once per source version (cached under the OS temp dir) and returns its path. */
export function faultShim(): string {
  if (shimPath) return shimPath;
  const source = join(FIXTURES, 'fault-shim.c');
  const hash = createHash('sha256').update(readFileSync(source)).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), 'cfs-fault-shim');
  const built = join(dir, `libfault-${hash}.so`);
  if (!existsSync(built)) {
    mkdirSync(dir, { recursive: true });
    // Built under a unique name and renamed: parallel test files may build at once.
    const partial = `${built}.${process.pid}`;
    const cc = spawnSync('cc', ['-shared', '-fPIC', '-O2', '-Wall', '-Wextra', '-Werror', '-o', partial, source, '-ldl'], {
      encoding: 'utf8',
    });
    if (cc.status !== 0) throw new Error(`cannot build the fault shim: ${cc.stderr}`);
    renameSync(partial, built);
  }
  shimPath = built;
  return built;
}

export type FaultCall = 'open' | 'write' | 'fsync' | 'fdatasync' | 'rename';

/** One fault: which call (by class and path glob), which occurrence, and what happens. */
export interface Fault {
  call: FaultCall;
  /** fnmatch glob of the path the call touches (for rename and link: the source). */
  path: string;
  /** The Nth matching call (from 1). Default 1. */
  nth?: number;
  /** Fail the call with `errno` (default), or SIGKILL the process before/after it. */
  action?: 'error' | 'kill';
  when?: 'before' | 'after';
  errno?: 'EIO' | 'ENOSPC' | 'EMFILE' | 'EACCES' | 'EROFS';
}

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The shim's trace ("call path result" per line), when `trace` was given. */
  log: string[];
}

/** The shim's environment for `fault`, and for tracing every call under `trace`. */
function shimEnv(fault: Fault | undefined, trace: { glob: string; log: string } | undefined): Record<string, string> {
  const env: Record<string, string> = { ...FAULT_ENV, LD_PRELOAD: faultShim() };
  if (fault) {
    Object.assign(env, {
      FAULT_CALL: fault.call,
      FAULT_PATH: fault.path,
      FAULT_NTH: String(fault.nth ?? 1),
      FAULT_ACTION: fault.action ?? 'error',
      FAULT_WHEN: fault.when ?? 'before',
      FAULT_ERRNO: fault.errno ?? 'EIO',
    });
  }
  if (trace) Object.assign(env, { FAULT_TRACE: trace.glob, FAULT_LOG: trace.log });
  return env;
}

/**
 * Runs `node <fixture> ...args` with the shim preloaded, optionally faulting one call
 * and tracing the calls whose path matches `trace` (a glob). Resolves on exit.
 */
export async function runFaulted(
  fixture: string,
  args: string[],
  options: { fault?: Fault; trace?: string; env?: Record<string, string> } = {},
): Promise<Run> {
  const logFile = options.trace ? join(tmpdir(), `cfs-fault-log-${process.pid}-${Math.random().toString(16).slice(2)}`) : undefined;
  const trace = options.trace && logFile ? { glob: options.trace, log: logFile } : undefined;
  const run = await runFixture(fixture, args, { env: { ...options.env, ...shimEnv(options.fault, trace) } });
  let log: string[] = [];
  if (logFile && existsSync(logFile)) {
    log = readFileSync(logFile, 'utf8').split('\n').filter(Boolean);
    rmSync(logFile, { force: true });
  }
  return { ...run, log };
}

/** The last line a child printed, parsed as JSON. */
export function report<T = Record<string, unknown>>(run: Run): T {
  const line = run.stdout.trim().split('\n').at(-1);
  if (!line) throw new Error(`the child printed nothing (exit ${run.code ?? run.signal}); stderr: ${run.stderr}`);
  return JSON.parse(line) as T;
}

/**
 * Runs `node -e script` under strace with `straceArgs` (e.g. `-e inject=fsync:error=EIO`).
 * Returns strace's exit (the child's), the child's stdout, and strace's own output
 * (the trace, when one is printed to stderr).
 */
export function runStraced(straceArgs: string[], script: string, env: Record<string, string> = {}) {
  const run = runSync(['strace', ...straceArgs, '--', process.execPath, '-e', script], { env: { ...FAULT_ENV, ...env } });
  return { code: run.code, signal: run.signal, stdout: run.stdout, trace: run.stderr.split('\n') };
}

/** A glob for the temp files of `target` (`.<basename>.<12 hex>.tmp` in its directory). */
export function tempGlob(dir: string, base: string): string {
  return join(dir, `.${base}.${'[0-9a-f]'.repeat(12)}.tmp`);
}

/** True for a temp-file name of `base`. */
export function isTempName(name: string, base: string): boolean {
  return name.startsWith(`.${base}.`) && /^\.[^/]*\.[0-9a-f]{12}\.tmp$/.test(name) && name.length === base.length + 18;
}

/** Runs `tasks` with at most `limit` in flight (children on a 2-core machine). */
export async function pool<T>(limit: number, tasks: (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < tasks.length; i = next++) results[i] = await tasks[i]!();
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, lane));
  return results;
}
