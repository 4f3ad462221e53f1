// A merge queue's `check`: a command run on a merged tree before the target moves, in a
// scratch worktree made for it and removed afterwards, whatever happens. Registering
// and unregistering the scratch worktree change the shared `.git`, so they take the
// repo lock; the checkout and the command run outside it, so a long test run stalls
// nobody's `create` (the merge queue's own lock keeps the merge itself one at a time).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, realpath, rm } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { abortError } from '../errors';
import { crashPoint } from './crash-points';
import type { RepoContext } from './repo';

/** How a check ended. */
export type CheckOutcome =
  | { readonly passed: true }
  | { readonly passed: false; readonly output: string; readonly exitCode: number | null };

/** Output kept of a failing check: its last this many characters. */
const MAX_OUTPUT = 1 << 20;

/** What `runCheck` runs, and where. */
export interface CheckRun {
  /** The directory the scratch worktree is made in. */
  dir: string;
  commit: string;
  argv: readonly string[];
  /** Extra environment for the command. */
  env: Record<string, string>;
  signal: AbortSignal | undefined;
}

/** Names of scratch worktrees: `merge-check-<pid>-<8 hex>`; nothing else is ever removed. */
const SCRATCH_NAME = /^merge-check-\d+-[0-9a-f]{8}$/;

/**
 * Runs `argv` with `commit` checked out in a new scratch worktree under `dir`; the
 * worktree is gone when this settles (resolved, rejected or aborted).
 */
export async function runCheck(ctx: RepoContext, run: CheckRun): Promise<CheckOutcome> {
  const { commit, signal } = run;
  const path = join(run.dir, `merge-check-${process.pid}-${randomBytes(4).toString('hex')}`);
  await ctx.withRepoLock(() => ctx.git(['worktree', 'add', '--detach', '--no-checkout', path, commit]));
  try {
    await ctx.git(['reset', '--hard', '--quiet'], { cwd: path, signal });
    await crashPoint('ws.merge.mid-check');
    return await runCommand(run.argv, path, run.env, signal);
  } finally {
    await ctx.withRepoLock(() => removeScratch(ctx, path));
  }
}

/**
 * Removes the scratch worktrees left in `dir` by a merger that died mid-check, however
 * far their `git worktree add` got (a directory without its `.git`, a registration
 * without its directory, `locked: initializing`). Only for a caller holding the merge
 * queue's lock of `dir`: then no live merger uses them.
 */
export async function removeLeftoverScratch(ctx: RepoContext, dir: string): Promise<number> {
  const registered = await scratchRegistrations(ctx, dir);
  const present = (await readdir(dir).catch(() => [])).filter((name) => SCRATCH_NAME.test(name)).map((name) => join(dir, name));
  const left = [...new Set([...present, ...registered.keys()])];
  if (left.length === 0) return 0;
  await ctx.withRepoLock(async () => {
    for (const path of left) await removeScratch(ctx, path, registered.get(path));
  });
  return left.length;
}

/**
 * The scratch worktrees under `dir` that git has registered, each with its admin dir
 * (`<common dir>/worktrees/<id>`, whose `gitdir` file names `<worktree>/.git`), read
 * from the admin dirs themselves: `git worktree remove` cannot remove a registration
 * whose directory is gone or half-made, so it is deleted directly.
 */
async function scratchRegistrations(ctx: RepoContext, dir: string): Promise<Map<string, string>> {
  const admins = join(ctx.commonDir, 'worktrees');
  const found = new Map<string, string>();
  const realDir = await realpath(dir).catch(() => dir);
  for (const id of await readdir(admins).catch(() => [])) {
    const gitdir = (await readFile(join(admins, id, 'gitdir'), 'utf8').catch(() => '')).trim();
    const path = dirname(gitdir);
    if (gitdir === '' || !SCRATCH_NAME.test(basename(path))) continue;
    const parent = await realpath(dirname(path)).catch(() => dirname(path));
    if (parent === realDir || dirname(path) === dir) found.set(join(dir, basename(path)), join(admins, id));
  }
  return found;
}

/**
 * Unregisters and deletes a scratch worktree. Never throws: a cleanup failure must not
 * hide the merge's outcome. When `git worktree remove` cannot (a half-made worktree,
 * files it will not delete), the directory and its admin dir are deleted directly.
 */
async function removeScratch(ctx: RepoContext, path: string, admin?: string): Promise<void> {
  const removed = await ctx.git(['worktree', 'remove', '--force', '--force', path], { allowFailure: true });
  if (removed.exitCode === 0) return;
  const adminDir = admin ?? (await adminDirOf(path));
  await rm(path, { recursive: true, force: true }).catch(() => undefined);
  if (adminDir?.startsWith(join(ctx.commonDir, 'worktrees'))) {
    await rm(adminDir, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** The `.git/worktrees/<id>` a worktree's `.git` file points to. */
async function adminDirOf(path: string): Promise<string | undefined> {
  const text = await readFile(join(path, '.git'), 'utf8').catch(() => '');
  const gitdir = /^gitdir: (.+)$/m.exec(text)?.[1]?.trim();
  if (gitdir === undefined) return undefined;
  return isAbsolute(gitdir) ? gitdir : resolve(path, gitdir);
}

/** Runs `argv` in `cwd`, its stdout and stderr interleaved into one output. */
function runCommand(
  argv: readonly string[],
  cwd: string,
  env: Record<string, string>,
  signal: AbortSignal | undefined,
): Promise<CheckOutcome> {
  return new Promise((settle, reject) => {
    signal?.throwIfAborted();
    const [command = '', ...args] = argv;
    // Its own process group, so that an abort stops whatever the check started too.
    const child = spawn(command, args, {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: process.platform !== 'win32',
    });
    let output = '';
    const collect = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-MAX_OUTPUT);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const onAbort = () => {
      stop(child.pid);
      if (signal) reject(abortError(signal));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (err) => {
      // Not startable (ENOENT, EACCES): the check did not pass.
      signal?.removeEventListener('abort', onAbort);
      settle({ passed: false, output: `${output}${err.message}\n`, exitCode: null });
    });
    child.on('close', (code, killedBy) => {
      signal?.removeEventListener('abort', onAbort);
      if (code === 0) settle({ passed: true });
      else settle({ passed: false, output: killedBy ? `${output}(killed by ${killedBy})\n` : output, exitCode: code });
    });
  });
}

function stop(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(process.platform === 'win32' ? pid : -pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
