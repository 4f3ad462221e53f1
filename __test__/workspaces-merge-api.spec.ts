// Workspaces.merge and .conflicts (the merge queue behind the workspace names), and the
// include copies going through the backend's cloneFile, on real repositories with the
// installed git. The merge queue's own concurrency is workspace-merge.spec.ts's subject.
import { chmodSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { describeWith } from './helpers/foreign';
import { load } from './helpers/impls';
import { tempDir } from './helpers/tmp';
import { GIT_MISSING, git, makeRepo } from './helpers/ws';

const cfs = load('native');
const { copyIncludes } = require('../dist/workspaces/include.js') as typeof import('../ts/workspaces/include');

/** Writes `files` in `dir` and commits them there; returns the commit. */
function commit(dir: string, files: Record<string, string>, message: string): string {
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  git(dir, 'add', ...Object.keys(files));
  git(dir, 'commit', '-q', '-m', message);
  return git(dir, 'rev-parse', 'HEAD');
}

/** Three workspaces with a commit each: alice and bob edit file-0.txt differently, carol adds a file. */
async function threeAgents() {
  const repo = makeRepo();
  const wss = await cfs.Workspaces.open(repo.dir);
  const paths: Record<string, string> = {};
  for (const name of ['alice', 'bob', 'carol']) {
    const ws = await wss.create(name);
    paths[name] = ws.path;
    await ws.release();
  }
  commit(paths.alice as string, { 'file-0.txt': 'alice was here\n' }, 'alice edits file-0');
  commit(paths.bob as string, { 'file-0.txt': 'bob was here\n' }, 'bob edits file-0');
  commit(paths.carol as string, { 'carol.txt': 'new\n' }, 'carol adds a file');
  return { repo, wss, paths };
}

describeWith(GIT_MISSING, 'Workspaces.merge and .conflicts', () => {
  it('conflicts() names the pair that would conflict, with the file; the clean one is in no pair', async () => {
    const { wss } = await threeAgents();
    expect(await wss.conflicts()).toEqual([{ a: 'alice', b: 'bob', files: ['file-0.txt'] }]);
  });

  it('merge(): the clean ones merged into main (checked out, so its worktree follows), the conflicting one reported with nothing touched', async () => {
    const { repo, wss, paths } = await threeAgents();
    const carol = await wss.merge('carol');
    expect(carol).toEqual({ status: 'merged', commit: git(repo.dir, 'rev-parse', 'main') });
    expect(readFileSync(join(repo.dir, 'carol.txt'), 'utf8')).toBe('new\n'); // main's worktree fast-forwarded
    expect(git(repo.dir, 'log', '-1', '--format=%s', 'main')).toBe("Merge branch 'agent/carol' into main");

    expect(await wss.merge('alice')).toMatchObject({ status: 'merged' });
    const main = git(repo.dir, 'rev-parse', 'main');
    const bobTip = git(paths.bob as string, 'rev-parse', 'HEAD');

    expect(await wss.merge('bob')).toEqual({ status: 'conflict', files: ['file-0.txt'] });
    expect(git(repo.dir, 'rev-parse', 'main')).toBe(main);
    expect(git(repo.dir, 'status', '--porcelain')).toBe('');
    expect(git(paths.bob as string, 'status', '--porcelain')).toBe('');
    expect(git(paths.bob as string, 'rev-parse', 'HEAD')).toBe(bobTip);

    expect(await wss.merge('carol')).toEqual({ status: 'up-to-date' });
    // Merged or not, the two branches still fight over file-0.txt.
    expect(await wss.conflicts()).toEqual([{ a: 'alice', b: 'bob', files: ['file-0.txt'] }]);
  });

  it('strategies and refusals: ff-only of a branch main has moved past is MergeRefusedError; unknown names ENOENT', async () => {
    const { repo, wss } = await threeAgents();
    await wss.merge('carol');
    const refused = await wss.merge('alice', { strategy: 'ff-only' }).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(cfs.MergeRefusedError);
    expect(refused).toMatchObject({ code: 'EMERGEREFUSED', reason: 'not-fast-forward', target: 'main' });
    expect(await wss.merge('alice', { strategy: 'squash' })).toMatchObject({ status: 'merged' });
    expect(git(repo.dir, 'rev-list', '--parents', '-n1', 'main').split(' ').length).toBe(2); // one parent
    await expect(wss.merge('nobody')).rejects.toBeInstanceOf(cfs.WorkspaceNotFoundError);
    await expect(wss.merge('nobody')).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(wss.merge('carol', { into: 'no-such-branch' })).rejects.toMatchObject({ reason: 'unknown-target' });
    await expect(wss.merge('../x')).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
  });

  it('check runs on the merged tree in a scratch worktree under the root: a failure leaves main alone, a pass merges', async () => {
    const { repo, wss } = await threeAgents();
    const main = git(repo.dir, 'rev-parse', 'main');
    const failing = ['sh', '-c', 'cat carol.txt; echo "$CFS_MERGE_BRANCH"; exit 7'];
    expect(await wss.merge('carol', { check: failing })).toEqual({ status: 'check-failed', output: 'new\nagent/carol\n', exitCode: 7 });
    expect(git(repo.dir, 'rev-parse', 'main')).toBe(main);
    expect(await wss.merge('carol', { check: ['sh', '-c', 'test -f carol.txt'] })).toMatchObject({ status: 'merged' });
    // The scratch worktrees went under the root, and are gone: git knows only the main worktree and the three.
    expect(existsSync(join(wss.root, '.merge-scratch'))).toBe(true);
    expect(readdirSync(join(wss.root, '.merge-scratch', 'main'))).toEqual([]);
    expect(git(repo.dir, 'worktree', 'list', '--porcelain').match(/^worktree /gm)?.length).toBe(4);
    expect((await wss.list()).map((w) => w.name)).toEqual(['alice', 'bob', 'carol']);
  });
});

describeWith(GIT_MISSING, 'Workspaces include: copies through the backend cloneFile', () => {
  it('a .env lands in a new workspace with its content and mode; a file the checkout has is left alone', async () => {
    const repo = makeRepo();
    chmodSync(join(repo.dir, '.env'), 0o640);
    writeFileSync(join(repo.dir, 'file-0.txt'), 'an uncommitted edit in the main checkout\n');
    const wss = await cfs.Workspaces.open(repo.dir, { include: ['.env', 'file-0.txt', 'missing.txt'] });
    const ws = await wss.create('alice');
    await ws.release();
    expect(readFileSync(join(ws.path, '.env'), 'utf8')).toBe('SECRET=1\n');
    expect(statSync(join(ws.path, '.env')).mode & 0o777).toBe(0o640);
    expect(readFileSync(join(ws.path, 'file-0.txt'), 'utf8')).toBe('content 0\n');
    expect(existsSync(join(ws.path, 'missing.txt'))).toBe(false);
    expect(git(ws.path, 'status', '--porcelain')).toBe('');
  });

  it('copyIncludes hands every regular file to the clone it is given, and none that the target has', async () => {
    const from = tempDir('cfs-include-from');
    const to = tempDir('cfs-include-to');
    writeFileSync(join(from, '.env'), 'A=1\n');
    writeFileSync(join(from, 'kept.txt'), 'source\n');
    writeFileSync(join(to, 'kept.txt'), 'target\n');
    const calls: [string, string][] = [];
    const report = await copyIncludes(from, to, ['.env', 'kept.txt'], async (src, dest) => {
      calls.push([src, dest]);
      writeFileSync(dest, readFileSync(src));
      return 'copy';
    });
    expect(calls).toEqual([[join(from, '.env'), join(to, '.env')]]);
    expect(report).toEqual({ copied: 1, bytes: 4 });
    expect(readFileSync(join(to, 'kept.txt'), 'utf8')).toBe('target\n');
  });
});
