// The merge queue (ts/workspaces/merge.ts) and conflict finder (conflicts.ts) on real
// repositories with the installed git. Concurrent merges come from separate processes
// started at once; every claim is counted in the target's history afterwards.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { expect, it } from 'vitest';
import { describeWith } from './helpers/foreign';
import { addWorktree, commit, GIT_MISSING, git, makeRepo, worktreeState } from './helpers/git-repo';
import { IMPLEMENTATIONS, load } from './helpers/impls';
import { type Child, isAlive, runNode, startFixture } from './helpers/spawn';
import { tempDir } from './helpers/tmp';

const { openRepo } = require('../dist/workspaces/repo.js') as typeof import('../ts/workspaces/repo');
const { mergeBranch, MergeRefusedError } = require('../dist/workspaces/merge.js') as typeof import('../ts/workspaces/merge');
const { findConflicts } = require('../dist/workspaces/conflicts.js') as typeof import('../ts/workspaces/conflicts');
const { removeStaleLockRefusing } = require('../dist/workspaces/stale-git-lock.js') as typeof import('../ts/workspaces/stale-git-lock');

type MergeResult = import('../ts/workspaces/merge').MergeResult;
type RepoContext = import('../ts/workspaces/repo').RepoContext;
type WithLock = import('../ts/workspaces/repo').WithLock;

function open(repo: string, impl: 'native' | 'js' = 'native'): Promise<RepoContext> {
  // The public withLock is typed `Promise<T>`; repo.ts wants the (equal) `Promise<Awaited<T>>`.
  return openRepo(repo, { withLock: load(impl).withLock as WithLock, lockTimeout: 60_000 });
}

/** Lines of text, one per line number: a file where edits to different lines merge cleanly. */
function lines(count: number, edit: Record<number, string> = {}): string {
  return `${Array.from({ length: count }, (_, i) => edit[i] ?? `line ${i}`).join('\n')}\n`;
}

/** The worktrees registered in `repo`, by path. */
function worktrees(repo: string): string[] {
  return git(repo, 'worktree', 'list', '--porcelain')
    .split('\n')
    .filter((l) => l.startsWith('worktree '))
    .map((l) => l.slice('worktree '.length));
}

/** How often `tip` is a merged-in (second) parent in the history of `ref`. */
function timesMerged(repo: string, ref: string, tip: string): number {
  const parents = git(repo, 'rev-list', '--merges', '--parents', ref).split('\n').filter(Boolean);
  return parents.filter((line) => line.split(' ').slice(2).includes(tip)).length;
}

/** A repository whose `branch` is one commit (`files`) ahead of main, with HEAD detached. */
function branchAhead(branch: string, files: Record<string, string>, message: string) {
  const repo = makeRepo();
  const wt = addWorktree(repo, branch);
  const tip = commit(wt, files, message);
  git(repo, 'checkout', '-q', '--detach');
  return { repo, wt, tip };
}

function startMerger(impl: string, repo: string, options: object): Child {
  return startFixture('ws-merger.cjs', [impl, repo, JSON.stringify(options)]);
}

describeWith(GIT_MISSING, 'merge queue (mergeBranch)', () => {
  for (const impl of IMPLEMENTATIONS) {
    it(`${impl}: 8 processes merging at once: every clean branch merged exactly once, every conflict reported with its files, no worktree or index touched`, async () => {
      // Branches 0-4 are clean; 5 conflicts with main (which moved after the fork);
      // 6 and 7 edit one line of pair.txt differently, so whichever lands first wins.
      const repo = makeRepo({ 'shared.txt': lines(40), 'base.txt': 'base\n', 'pair.txt': 'pair\n' });
      const paths = Array.from({ length: 8 }, (_, i) => addWorktree(repo, `agent/${i}`));
      commit(repo, { 'base.txt': 'main moved on\n' }, 'main moves');
      const tips = paths.map((path, i) => {
        if (i < 5) commit(path, { [`own-${i}.txt`]: `agent ${i}\n` }, `agent ${i}: own file`);
        const files: Record<string, string> =
          i < 5
            ? { 'shared.txt': lines(40, { [i * 8]: `agent ${i}` }) }
            : i === 5
              ? { 'base.txt': 'agent 5\n' }
              : { 'pair.txt': `agent ${i}\n` };
        return commit(path, files, `agent ${i}: edit`);
      });
      git(repo, 'checkout', '-q', '--detach'); // main checked out nowhere: every merge is a CAS
      const before = [repo, ...paths].map(worktreeState);
      const registered = worktrees(repo);
      const oldMain = git(repo, 'rev-parse', 'main');

      const mergers = tips.map((_, i) => startMerger(impl, repo, { branch: `agent/${i}`, into: 'main' }));
      for (const m of mergers) expect(await m.nextLine()).toBe('ready');
      const started = Date.now();
      for (const m of mergers) m.send('go');
      const results = (await Promise.all(mergers.map((m) => m.nextLine()))).map((line) => JSON.parse(line) as MergeResult);
      console.log(`${impl}: 8 concurrent merges in ${Date.now() - started} ms`);
      for (const m of mergers) expect(await m.exited).toMatchObject({ code: 0, stderr: '' });

      for (let i = 0; i < 5; i++) {
        expect(results[i]).toMatchObject({ status: 'merged' });
        expect(timesMerged(repo, 'main', tips[i] as string)).toBe(1);
      }
      expect(results[5]).toEqual({ status: 'conflict', files: ['base.txt'] });
      expect(timesMerged(repo, 'main', tips[5] as string)).toBe(0);
      const pair = [results[6], results[7]];
      expect(pair.filter((r) => r?.status === 'merged')).toHaveLength(1);
      expect(pair.filter((r) => r?.status === 'conflict')).toEqual([{ status: 'conflict', files: ['pair.txt'] }]);
      expect(timesMerged(repo, 'main', tips[6] as string) + timesMerged(repo, 'main', tips[7] as string)).toBe(1);

      // One merge commit per merged branch, in one first-parent line on top of the old main.
      const line = git(repo, 'rev-list', '--first-parent', `${oldMain}..main`).split('\n');
      expect(line).toHaveLength(6);
      expect(git(repo, 'rev-list', '--first-parent', 'main').split('\n').at(-2)).toBe(oldMain);
      const merged = git(repo, 'show', 'main:shared.txt');
      for (let i = 0; i < 5; i++) expect(merged).toContain(`agent ${i}`);
      expect([repo, ...paths].map(worktreeState)).toEqual(before);
      expect(worktrees(repo)).toEqual(registered);
    }, 120_000);
  }

  it('a clean branch: a merge commit with both parents, message naming the branch', async () => {
    const { repo, tip } = branchAhead('agent/a', { 'a.txt': 'a\n' }, 'a');
    const ctx = await open(repo);
    const old = git(repo, 'rev-parse', 'main');
    const result = await mergeBranch(ctx, { branch: 'agent/a' });
    expect(result).toEqual({ status: 'merged', commit: git(repo, 'rev-parse', 'main') });
    expect(git(repo, 'rev-list', '--parents', '-n1', 'main').split(' ').slice(1)).toEqual([old, tip]);
    expect(git(repo, 'log', '-1', '--format=%s', 'main')).toBe("Merge branch 'agent/a' into main");
    expect(await mergeBranch(ctx, { branch: 'agent/a' })).toEqual({ status: 'up-to-date' });
  });

  it('squash: one commit with one parent and the branch changes; ff-only: fast-forward, or refused when main moved', async () => {
    const repo = makeRepo();
    const wt = addWorktree(repo, 'agent/s');
    commit(wt, { 's1.txt': '1\n' }, 'first');
    const tip = commit(wt, { 's2.txt': '2\n' }, 'second');
    git(repo, 'checkout', '-q', '--detach');
    const ctx = await open(repo);
    const old = git(repo, 'rev-parse', 'main');

    const ff = await mergeBranch(ctx, { branch: 'agent/s', strategy: 'ff-only' });
    expect(ff).toEqual({ status: 'merged', commit: tip });
    expect(git(repo, 'rev-parse', 'main')).toBe(tip);

    git(repo, 'update-ref', 'refs/heads/main', old);
    commit(repo, { 'other.txt': 'x\n' }, 'main moves');
    git(repo, 'branch', '-f', 'main', 'HEAD');
    const moved = git(repo, 'rev-parse', 'main');
    const refused = await mergeBranch(ctx, { branch: 'agent/s', strategy: 'ff-only' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(MergeRefusedError);
    expect(refused).toMatchObject({ code: 'EMERGEREFUSED', reason: 'not-fast-forward', target: 'main' });
    expect(git(repo, 'rev-parse', 'main')).toBe(moved);

    const squash = await mergeBranch(ctx, { branch: 'agent/s', strategy: 'squash' });
    expect(squash.status).toBe('merged');
    expect(git(repo, 'rev-list', '--parents', '-n1', 'main').split(' ').slice(1)).toEqual([moved]);
    expect(git(repo, 'ls-tree', '--name-only', 'main').split('\n').sort()).toEqual(['README.md', 'other.txt', 's1.txt', 's2.txt']);
    expect(git(repo, 'log', '-1', '--format=%B', 'main')).toContain('* first\n* second');
    // Everything of the branch is in main now: a second squash has nothing to add.
    expect(await mergeBranch(ctx, { branch: 'agent/s', strategy: 'squash' })).toEqual({ status: 'up-to-date' });
  });

  it('rebase: the branch commits replayed onto the moved main, authors and messages kept; a replay conflict is reported', async () => {
    const repo = makeRepo({ 'f.txt': lines(10) });
    const wt = addWorktree(repo, 'agent/r');
    const author = 'Agent R <r@example.com>';
    commit(wt, { 'r1.txt': '1\n' }, 'r one', author);
    commit(wt, { 'f.txt': lines(10, { 9: 'agent r' }) }, 'r two', author);
    const branchTip = git(wt, 'rev-parse', 'HEAD');
    commit(repo, { 'f.txt': lines(10, { 0: 'main' }) }, 'main moves');
    const moved = git(repo, 'rev-parse', 'main');
    git(repo, 'checkout', '-q', '--detach');
    const ctx = await open(repo);

    const result = await mergeBranch(ctx, { branch: 'agent/r', strategy: 'rebase' });
    expect(result.status).toBe('merged');
    expect(
      git(repo, 'rev-list', '--parents', 'main')
        .split('\n')
        .map((l) => l.split(' ').length),
    ).toEqual([2, 2, 2, 1]);
    expect(git(repo, 'log', '--format=%an|%s', `${moved}..main`).split('\n')).toEqual(['Agent R|r two', 'Agent R|r one']);
    expect(git(repo, 'show', 'main:f.txt')).toBe(lines(10, { 0: 'main', 9: 'agent r' }).trimEnd());
    expect(git(repo, 'rev-parse', 'agent/r')).toBe(branchTip); // the branch itself is left as it was

    const wt2 = addWorktree(repo, 'agent/c', moved);
    commit(wt2, { 'f.txt': lines(10, { 0: 'main', 9: 'agent c' }) }, 'c edits the line r edited');
    const before = git(repo, 'rev-parse', 'main');
    expect(await mergeBranch(ctx, { branch: 'agent/c', strategy: 'rebase' })).toEqual({ status: 'conflict', files: ['f.txt'] });
    expect(git(repo, 'rev-parse', 'main')).toBe(before);
  });

  it('the target checked out and clean: that worktree is fast-forwarded with the ref, and stays clean', async () => {
    const repo = makeRepo();
    const wt = addWorktree(repo, 'agent/a');
    commit(wt, { 'a.txt': 'from a\n' }, 'a');
    const ctx = await open(repo);
    writeFileSync(join(repo, 'untracked.txt'), 'mine\n'); // untracked files do not make it dirty
    const result = await mergeBranch(ctx, { branch: 'agent/a' });
    expect(result).toMatchObject({ status: 'merged' });
    expect(git(repo, 'rev-parse', 'HEAD')).toBe((result as { commit: string }).commit);
    expect(git(repo, 'status', '--porcelain', '--untracked-files=no')).toBe('');
    expect(readFileSync(join(repo, 'a.txt'), 'utf8')).toBe('from a\n');
    expect(readFileSync(join(repo, 'untracked.txt'), 'utf8')).toBe('mine\n');
  });

  it('the target checked out and dirty (staged or not): refused, and neither the branch nor that worktree is touched', async () => {
    const repo = makeRepo({ 'README.md': 'hello\n', 'notes.txt': 'notes\n' });
    const wt = addWorktree(repo, 'agent/a');
    commit(wt, { 'a.txt': 'from a\n' }, 'a');
    const ctx = await open(repo);
    const old = git(repo, 'rev-parse', 'main');
    for (const dirty of ['unstaged', 'staged']) {
      writeFileSync(join(repo, 'notes.txt'), `edited, ${dirty}\n`);
      if (dirty === 'staged') git(repo, 'add', 'notes.txt');
      const before = worktreeState(repo);
      const err = await mergeBranch(ctx, { branch: 'agent/a' }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'EMERGEREFUSED', reason: 'target-dirty', worktree: repo });
      expect((err as Error).message).toContain(repo);
      expect(git(repo, 'rev-parse', 'main')).toBe(old);
      expect(worktreeState(repo)).toBe(before);
      expect(existsSync(join(repo, 'a.txt'))).toBe(false);
    }
  });

  it('a failing check: check-failed with its output, the target unmoved, the scratch worktree gone', async () => {
    const { repo } = branchAhead('agent/a', { 'a.txt': 'from a\n' }, 'a');
    const ctx = await open(repo);
    const old = git(repo, 'rev-parse', 'main');
    const registered = worktrees(repo);
    // The check sees the merged tree: the branch's file and main's, then fails loudly.
    const script =
      "const fs=require('fs');console.log('saw',fs.readFileSync('a.txt','utf8').trim(),fs.existsSync('README.md'));console.error('tests failed');process.exit(3)";
    const result = await mergeBranch(ctx, { branch: 'agent/a', check: [process.execPath, '-e', script] });
    expect(result).toEqual({ status: 'check-failed', output: expect.stringContaining('saw from a true'), exitCode: 3 });
    expect((result as { output: string }).output).toContain('tests failed');
    expect(git(repo, 'rev-parse', 'main')).toBe(old);
    expect(worktrees(repo)).toEqual(registered);
    expect(readdirSync(join(ctx.stateRoot, 'merge-check', 'main'))).toEqual([]);

    const missing = await mergeBranch(ctx, { branch: 'agent/a', check: ['/no/such/command'] });
    expect(missing).toMatchObject({ status: 'check-failed', exitCode: null, output: expect.stringContaining('ENOENT') });
    expect(worktrees(repo)).toEqual(registered);

    const seen = join(tempDir('ws-check'), 'env');
    const record = `require('fs').statSync('a.txt'); require('fs').writeFileSync(${JSON.stringify(seen)}, process.env.CFS_MERGE_COMMIT + ' ' + process.env.CFS_MERGE_BRANCH + ' ' + process.env.CFS_MERGE_TARGET)`;
    const passed = await mergeBranch(ctx, { branch: 'agent/a', check: [process.execPath, '-e', record] });
    expect(passed).toEqual({ status: 'merged', commit: git(repo, 'rev-parse', 'main') });
    expect(readFileSync(seen, 'utf8')).toBe(`${git(repo, 'rev-parse', 'main')} agent/a main`);
    expect(worktrees(repo)).toEqual(registered);
  });

  it('a running check holds the queue lock, not the repo lock; aborted: rejects with AbortError, its process stopped, target unmoved, scratch worktree gone', async () => {
    const { repo } = branchAhead('agent/a', { 'a.txt': 'a\n' }, 'a');
    const ctx = await open(repo);
    const old = git(repo, 'rev-parse', 'main');
    const registered = worktrees(repo);
    const mark = join(tempDir('ws-check'), 'started');
    const controller = new AbortController();
    const script = `require('fs').writeFileSync(${JSON.stringify(mark)}, String(process.pid)); setInterval(() => {}, 1000)`;
    const merging = mergeBranch(ctx, { branch: 'agent/a', check: [process.execPath, '-e', script], signal: controller.signal });
    await until(() => existsSync(mark) && readFileSync(mark, 'utf8') !== '');
    // While the check runs, another process can take the repo lock (creates go on), not the queue.
    const probe = `const { FileLock } = require('./dist/native.js'); console.log(${JSON.stringify([ctx.repoLock, join(ctx.stateRoot, 'merge-main.lock')])}.map((p) => new FileLock(p).tryAcquire()).join(' '))`;
    expect(runNode(probe)).toMatchObject({ code: 0, stdout: 'true false\n' });
    controller.abort();
    await expect(merging).rejects.toMatchObject({ name: 'AbortError' });
    const pid = Number(readFileSync(mark, 'utf8'));
    await until(() => !isAlive(pid));
    expect(git(repo, 'rev-parse', 'main')).toBe(old);
    expect(worktrees(repo)).toEqual(registered);
  });

  it('a merger SIGKILLed mid-check: its queue lock frees at once, and the next merge removes its scratch worktree', async () => {
    const { repo } = branchAhead('agent/a', { 'a.txt': 'a\n' }, 'a');
    const registered = worktrees(repo);
    const mark = join(tempDir('ws-check'), 'started');
    const script = `require('fs').writeFileSync(${JSON.stringify(mark)}, String(process.pid)); setInterval(() => {}, 1000)`;
    const merger = startMerger('native', repo, { branch: 'agent/a', check: [process.execPath, '-e', script] });
    expect(await merger.nextLine()).toBe('ready');
    merger.send('go');
    await until(() => existsSync(mark) && readFileSync(mark, 'utf8') !== '');
    merger.process.kill('SIGKILL');
    await merger.exited;
    process.kill(Number(readFileSync(mark, 'utf8')), 'SIGKILL'); // the orphaned check (its own group)
    expect(worktrees(repo)).toHaveLength(registered.length + 1);

    const ctx = await open(repo);
    const scratch = join(ctx.stateRoot, 'merge-check', 'main');
    writeFileSync(join(scratch, 'not-a-scratch-worktree'), 'keep'); // only our scratch worktrees are removed
    const result = await mergeBranch(ctx, { branch: 'agent/a', queueTimeout: 0 });
    expect(result).toMatchObject({ status: 'merged' });
    expect(worktrees(repo)).toEqual(registered);
    expect(readdirSync(scratch)).toEqual(['not-a-scratch-worktree']);
  });

  it("a scratch worktree whose add was killed (a directory without .git, a registration without its directory, both 'locked: initializing') is removed by the next merge", async () => {
    const { repo } = branchAhead('agent/a', { 'a.txt': 'a\n' }, 'a');
    const registered = worktrees(repo);
    const ctx = await open(repo);
    const scratch = join(ctx.stateRoot, 'merge-check', 'main');
    const [noGitFile, noDir] = [join(scratch, 'merge-check-1-aaaaaaaa'), join(scratch, 'merge-check-2-bbbbbbbb')];
    for (const path of [noGitFile, noDir]) {
      git(repo, 'worktree', 'add', '-q', '--detach', '--no-checkout', path, 'main');
      writeFileSync(join(ctx.commonDir, 'worktrees', basename(path), 'locked'), 'initializing');
    }
    rmSync(join(noGitFile, '.git'));
    rmSync(noDir, { recursive: true });
    expect(git(repo, 'worktree', 'prune')).toBe(''); // git itself keeps them: they are locked
    expect(worktrees(repo)).toHaveLength(registered.length + 2);

    expect(await mergeBranch(ctx, { branch: 'agent/a' })).toMatchObject({ status: 'merged' });
    expect(worktrees(repo)).toEqual(registered);
    expect(readdirSync(scratch)).toEqual([]);
    expect(existsSync(join(ctx.commonDir, 'worktrees', 'merge-check-1-aaaaaaaa'))).toBe(false);
  });

  it('mergers SIGKILLed at random points (with and without check): the next merge lands exactly once, nothing left behind', async () => {
    const repo = makeRepo();
    git(repo, 'checkout', '-q', '--detach');
    const registered = worktrees(repo);
    const ctx = await open(repo);
    const wt = addWorktree(repo, 'agent/k');
    const withWorktree = worktrees(repo);
    for (let round = 0; round < 16; round++) {
      const tip = commit(wt, { [`k${round}.txt`]: `${round}\n` }, `round ${round}`);
      const check = round % 2 ? { check: ['true'] } : {};
      // Rounds 0,1 kill the merger only, 2,3 its whole group (git children too), and so on.
      // Its own process group, so that the group can be killed without the test runner.
      const args = ['native', repo, JSON.stringify({ branch: 'agent/k', ...check })];
      const merger = startFixture('ws-merger.cjs', args, { detached: true });
      expect(await merger.nextLine()).toBe('ready');
      merger.send('go');
      // Fault injection, not synchronisation: a kill anywhere from before the lock to after the merge.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 400));
      killQuietly(round % 4 < 2 ? merger.process.pid! : -merger.process.pid!); // it may have finished
      const { signal } = await merger.exited;
      expect(timesMerged(repo, 'main', tip)).toBeLessThanOrEqual(1);
      const again = await mergeBranch(ctx, { branch: 'agent/k', queueTimeout: 0, ...check });
      expect(['merged', 'up-to-date']).toContain(again.status);
      expect(timesMerged(repo, 'main', tip), `round ${round} (${signal ?? 'finished'})`).toBe(1);
      expect(worktrees(repo)).toEqual(withWorktree);
      expect(git(repo, 'worktree', 'list', '--porcelain')).not.toContain('prunable');
    }
    expect(registered.length + 1).toBe(withWorktree.length);
  }, 180_000);

  it("a stale refs/heads/main.lock (a killed git's) does not refuse merges forever: removed after git's own wait, then merged", async () => {
    const repo = makeRepo();
    git(repo, 'checkout', '-q', '--detach');
    const wt = addWorktree(repo, 'agent/s');
    const tip = commit(wt, { 's.txt': 's\n' }, 'stale lock round');
    const lock = join(repo, '.git', 'refs', 'heads', 'main.lock');
    writeFileSync(lock, '');
    const old = new Date(Date.now() - 60_000);
    utimesSync(lock, old, old);
    const ctx = await open(repo);
    const result = await mergeBranch(ctx, { branch: 'agent/s' });
    expect(result.status).toBe('merged');
    expect(timesMerged(repo, 'main', tip)).toBe(1);
    expect(existsSync(lock)).toBe(false);
  });

  it("a stale lock on a new workspace's branch (a git killed mid-registration) is removed after git's wait; create succeeds", async () => {
    const repo = makeRepo();
    const lock = join(repo, '.git', 'refs', 'heads', 'agent', 'x.lock');
    mkdirSync(dirname(lock), { recursive: true });
    writeFileSync(lock, '');
    const old = new Date(Date.now() - 60_000);
    utimesSync(lock, old, old);
    const wss = await load('native').Workspaces.open(repo);
    const ws = await wss.create('x');
    expect(ws.branch).toBe('agent/x');
    expect(existsSync(lock)).toBe(false);
    await ws.release();
  });

  it('a lock file git names outside the common dir is never removed, however old', async () => {
    const repo = makeRepo();
    const outside = join(tempDir(), 'other.lock');
    writeFileSync(outside, '');
    const old = new Date(Date.now() - 60_000);
    utimesSync(outside, old, old);
    const ctx = await open(repo);
    const refusal = (path: string) => `fatal: Unable to create '${path}': File exists.`;
    expect(await removeStaleLockRefusing(refusal(outside), ctx)).toBe(false);
    expect(await removeStaleLockRefusing(refusal(join(ctx.commonDir, '..', '..', 'escape.lock')), ctx)).toBe(false);
    expect(existsSync(outside)).toBe(true);
    // A relative name is git's, from the top level it ran in.
    writeFileSync(join(ctx.commonDir, 'packed-refs.lock'), '');
    utimesSync(join(ctx.commonDir, 'packed-refs.lock'), old, old);
    expect(await removeStaleLockRefusing(refusal('.git/packed-refs.lock'), ctx)).toBe(true);
    expect(existsSync(join(ctx.commonDir, 'packed-refs.lock'))).toBe(false);
  });

  it('unknown branch or target: MergeRefusedError, nothing changed', async () => {
    const repo = makeRepo();
    const ctx = await open(repo);
    await expect(mergeBranch(ctx, { branch: 'agent/none' })).rejects.toMatchObject({ reason: 'unknown-branch' });
    await expect(mergeBranch(ctx, { branch: 'main', into: 'nowhere' })).rejects.toMatchObject({ reason: 'unknown-target' });
    expect(git(repo, 'branch', '--format=%(refname)')).toBe('refs/heads/main');
  });

  it('bad arguments are rejected with Node-style codes before any lock file or git run', async () => {
    const repo = makeRepo();
    const ctx = await open(repo);
    const bad: [unknown, string][] = [
      [undefined, 'ERR_INVALID_ARG_TYPE'],
      [{ branch: 7 }, 'ERR_INVALID_ARG_TYPE'],
      [{ branch: '' }, 'ERR_INVALID_ARG_VALUE'],
      [{ branch: '--upload-pack=x' }, 'ERR_INVALID_ARG_VALUE'],
      [{ branch: 'a', into: '-x' }, 'ERR_INVALID_ARG_VALUE'],
      [{ branch: 'a', strategy: 'octopus' }, 'ERR_INVALID_ARG_VALUE'],
      [{ branch: 'a', check: [] }, 'ERR_INVALID_ARG_VALUE'],
      [{ branch: 'a', check: 'npm test' }, 'ERR_INVALID_ARG_TYPE'],
      [{ branch: 'a', message: 3 }, 'ERR_INVALID_ARG_TYPE'],
      [{ branch: 'a', queueTimeout: -1 }, 'ERR_OUT_OF_RANGE'],
      [{ branch: 'a', signal: {} }, 'ERR_INVALID_ARG_TYPE'],
    ];
    for (const [options, code] of bad) {
      await expect(mergeBranch(ctx, options as never), JSON.stringify(options)).rejects.toMatchObject({ code });
    }
    expect(readdirSync(ctx.stateRoot)).toEqual([]);
  });
});

describeWith(GIT_MISSING, 'conflict finder (findConflicts)', () => {
  it('finds exactly the overlapping pairs, with their files, and touches no worktree', async () => {
    const repo = makeRepo({ 'x.txt': 'x\n', 'y.txt': 'y\n', 'z.txt': lines(20) });
    const edits: Record<string, Record<string, string>> = {
      a: { 'x.txt': 'a\n' },
      b: { 'x.txt': 'b\n', 'z.txt': lines(20, { 0: 'b' }) },
      c: { 'y.txt': 'c\n', 'z.txt': lines(20, { 19: 'c' }) },
      d: { 'y.txt': 'd\n' },
      e: { 'e.txt': 'e\n' },
      f: { 'x.txt': 'a\n' }, // the same change as a: no conflict with a, but with b
    };
    const paths = Object.entries(edits).map(([name, files]) => {
      const path = addWorktree(repo, `agent/${name}`);
      commit(path, files, name);
      return path;
    });
    const before = [repo, ...paths].map(worktreeState);
    const ctx = await open(repo);
    const branches = [...Object.keys(edits), 'gone'].map((name) => ({ name, branch: `agent/${name}` }));
    const found = await findConflicts(ctx, branches);
    expect(found).toEqual([
      { a: 'a', b: 'b', files: ['x.txt'] },
      { a: 'b', b: 'f', files: ['x.txt'] },
      { a: 'c', b: 'd', files: ['y.txt'] },
    ]);
    expect([repo, ...paths].map(worktreeState)).toEqual(before);
    expect(await findConflicts(ctx, [])).toEqual([]);
  });
});

/** Polls `ready` (there is no event to wait for) with a generous deadline. */
async function until(ready: () => boolean, deadlineMs = 60_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!ready()) {
    if (Date.now() > end) throw new Error('condition not reached within the deadline');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** SIGKILLs `pid` (a negative one: its group) if it still exists. */
function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}
