// Real git repositories for the workspace tests: made in temp dirs with the installed
// git, driven synchronously (setup and inspection only; the code under test runs git
// asynchronously itself).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './tmp';

/** Why the installed git cannot run these tests (missing, older than 2.38), or undefined. */
export const GIT_MISSING: string | undefined = (() => {
  const probe = spawnSync('git', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) return 'git is not installed';
  const [major = 0, minor = 0] = (/(\d+)\.(\d+)/.exec(probe.stdout) ?? []).slice(1).map(Number);
  return major > 2 || (major === 2 && minor >= 38) ? undefined : `git ${probe.stdout.trim()} is older than 2.38`;
})();

const ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
  GIT_CONFIG_NOSYSTEM: '1',
  LC_ALL: 'C',
};

/** Runs git in `cwd`; throws with its stderr on failure. Returns stdout, trimmed. */
export function git(cwd: string, ...args: string[]): string {
  const out = spawnSync('git', args, { cwd, env: ENV, encoding: 'utf8' });
  if (out.error || out.status !== 0) throw new Error(`git ${args.join(' ')} in ${cwd}: ${out.stderr || out.error}`);
  return out.stdout.trim();
}

/** A new repository with `main` holding `files`, identity configured (as the merge code needs one). */
export function makeRepo(files: Record<string, string> = { 'README.md': 'hello\n' }): string {
  const dir = join(tempDir('ws-merge'), 'repo');
  git(tempDir('ws-merge-init'), 'init', '-q', '-b', 'main', dir);
  git(dir, 'config', 'user.name', 'Test');
  git(dir, 'config', 'user.email', 'test@example.com');
  commit(dir, files, 'initial');
  return dir;
}

/** Writes `files` in worktree `cwd` and commits them (as `author`, "Name <email>", if given); returns the new commit. */
export function commit(cwd: string, files: Record<string, string>, message: string, author?: string): string {
  for (const [name, text] of Object.entries(files)) writeFileSync(join(cwd, name), text);
  git(cwd, 'add', '--', ...Object.keys(files));
  git(cwd, 'commit', '-q', '-m', message, ...(author === undefined ? [] : [`--author=${author}`]));
  return git(cwd, 'rev-parse', 'HEAD');
}

/** A new worktree on a new branch `branch` from `base`, in a sibling directory of the repo. */
export function addWorktree(repo: string, branch: string, base = 'main'): string {
  const path = join(repo, '..', branch.replaceAll('/', '-'));
  git(repo, 'worktree', 'add', '-q', '-b', branch, path, base);
  return path;
}

/**
 * Everything a merge must not touch in a worktree, as one hash: HEAD, what
 * `git status` shows (read without refreshing the index) and the index file's bytes.
 */
export function worktreeState(path: string): string {
  const hash = createHash('sha256');
  hash.update(git(path, 'rev-parse', 'HEAD'));
  hash.update(git(path, '--no-optional-locks', 'status', '--porcelain=v1', '-z', '--untracked-files=all'));
  const index = git(path, 'rev-parse', '--path-format=absolute', '--git-path', 'index');
  hash.update(existsSync(index) ? readFileSync(index) : 'no index');
  for (const file of git(path, 'ls-files', '-z').split('\0').filter(Boolean)) hash.update(readFileSync(join(path, file)));
  return hash.digest('hex');
}
