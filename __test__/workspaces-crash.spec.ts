// Workspaces killed at each crash point (CFS_CRASH_AT, see ts/workspaces/crash-points.ts),
// three ways: the agent process alone (its git children live on, holding the lease they
// inherited), its whole process group (git too), and its parent (the agent carries on
// with its pipes closed). Then reclaim(), and the invariants: git's registrations agree
// with the records, no 'locked: initializing', no index.lock under a free lease, no
// dangling branch without commits of its own, every commit made before the kill still
// reachable, and the name usable again.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { describeWith } from './helpers/foreign';
import { load } from './helpers/impls';
import { GIT_MISSING, git, invariantProblems, type KillStyle, makeRepo, startAgent, type TestRepo, waitUntil } from './helpers/ws';

const cfs = load('native');

interface Scenario {
  point: string;
  op: 'create' | 'remove';
  /** For remove: the workspace has a commit of its own, which must survive. */
  commit?: boolean;
}

const SCENARIOS: Scenario[] = [
  { point: 'ws.create.after-lease', op: 'create' },
  // While `git worktree add` runs: killed alone, the agent closes git's pipes (git may die
  // of SIGPIPE and its own cleanup leave the branch dangling, as measured in E10b).
  { point: 'ws.create.mid-register', op: 'create' },
  { point: 'ws.create.after-register', op: 'create' },
  { point: 'ws.create.mid-checkout', op: 'create' },
  { point: 'ws.create.before-record', op: 'create' },
  { point: 'ws.remove.after-unregister', op: 'remove', commit: true },
  { point: 'ws.remove.after-unregister', op: 'remove', commit: false },
];
const STYLES: KillStyle[] = ['process', 'group', 'parent'];

const CASES = SCENARIOS.flatMap((scenario) => STYLES.map((style) => ({ ...scenario, style })));

/** A merge of workspace 'x' (a commit of its own, a `check` command) into main, stopped at each point. */
const MERGE_POINTS = ['ws.merge.after-build', 'ws.merge.mid-check', 'ws.merge.before-advance', 'ws.merge.after-advance'];
const MERGE_CASES = MERGE_POINTS.flatMap((point) => STYLES.map((style) => ({ point, style })));

/** A workspace 'x' made and released by another agent; returns its commit, if asked for one. */
async function existingWorkspace(repo: TestRepo, commit: boolean): Promise<string[]> {
  const setup = await startAgent('native', repo.dir);
  expect((await setup.request({ op: 'create', name: 'x' })).ok).toBe(true);
  const made = commit ? [(await setup.request({ op: 'commit', name: 'x', file: 'work.txt' })).commit as string] : [];
  await setup.request({ op: 'exit' }).catch(() => undefined);
  await setup.gone();
  return made;
}

const table: string[] = [];

describeWith(GIT_MISSING, 'Workspaces killed at each crash point, three ways', () => {
  it.each(CASES)('$point ($op, commit: $commit), killed: $style', async ({ point, op, commit, style }) => {
    const repo = makeRepo(400);
    const commits = op === 'remove' ? await existingWorkspace(repo, commit === true) : [];
    const agent = await startAgent('native', repo.dir, { env: { CFS_CRASH_AT: point }, viaParent: style === 'parent' });
    agent.send({ op, name: 'x' });
    expect(await agent.crashPoint).toBe(point);
    agent.kill(style);
    await agent.gone();
    // Git children of a killed agent finish their work holding the lease; then it is free.
    const lease = join(repo.stateRoot, 'leases', 'x.lock');
    await waitUntil(async () => !(await cfs.lockStatus(lease)).locked, 'the lease to be free');

    const wss = await cfs.Workspaces.open(repo.dir);
    const report = await wss.reclaim();
    table.push(
      `${point} ${op}${commit ? '+commit' : ''} ${style}: ${report.items.map((i) => `${i.kind}->${i.action}`).join(', ') || 'nothing to do'}${report.kept.length ? `; kept ${report.kept.map((k) => k.branch).join(', ')}` : ''}`,
    );
    expect(report.errors).toEqual([]);
    expect(invariantProblems(repo, { commits })).toEqual([]);

    const exists = (await wss.list()).some((w) => w.name === 'x');
    const again = exists ? await wss.acquire('x') : await wss.create('x');
    for (const made of commits)
      expect((await again.git(['merge-base', '--is-ancestor', made, 'HEAD'], { allowFailure: true })).exitCode).toBe(0);
    await again.release();
    expect(invariantProblems(repo, { commits })).toEqual([]);
  });

  it('an agent killed mid-checkout: its orphaned git holds the lease until the checkout is complete', async () => {
    const files = 3000;
    const repo = makeRepo(files);
    const agent = await startAgent('native', repo.dir, { env: { CFS_CRASH_AT: 'ws.create.mid-checkout' } });
    agent.send({ op: 'create', name: 'x' });
    await agent.crashPoint;
    agent.kill('process');
    await agent.gone();
    const lease = join(repo.stateRoot, 'leases', 'x.lock');
    const heldAfterDeath = (await cfs.lockStatus(lease)).locked;
    await waitUntil(async () => !(await cfs.lockStatus(lease)).locked, 'the orphaned checkout to end');
    // Free now: so nobody writes there any more, and the checkout the orphan ran is whole.
    const checkedOut = readdirSync(join(repo.root, 'x')).filter((f) => f.startsWith('file-')).length;
    console.log(
      `mid-checkout kill: lease still held after the agent died: ${heldAfterDeath}; files when it was free: ${checkedOut}/${files}`,
    );
    expect(checkedOut).toBe(files);
    const wss = await cfs.Workspaces.open(repo.dir);
    expect((await wss.reclaim()).items.map((i) => i.kind)).toEqual(['half-created']);
    expect(invariantProblems(repo)).toEqual([]);
  });

  it.each(MERGE_CASES)('$point (merge), killed: $style', async ({ point, style }) => {
    const repo = makeRepo(400);
    const [made = ''] = await existingWorkspace(repo, true);
    const before = git(repo.dir, 'rev-parse', 'main');
    const agent = await startAgent('native', repo.dir, { env: { CFS_CRASH_AT: point }, viaParent: style === 'parent' });
    agent.send({ op: 'merge', name: 'x', check: ['true'] });
    expect(await agent.crashPoint).toBe(point);
    agent.kill(style);
    await agent.gone();

    // main is where it was or at the merge, never anywhere else, and its worktree is clean.
    const after = git(repo.dir, 'rev-parse', 'main');
    const advanced = after !== before;
    if (advanced) expect(git(repo.dir, 'rev-parse', `${after}^1`)).toBe(before);
    expect(git(repo.dir, 'status', '--porcelain', '--untracked-files=no')).toBe('');
    // The next merge clears what the dead one left (a scratch worktree, a ref lock) and
    // merges exactly once: up to date if the dead one had moved main already.
    const scratch = join(repo.root, '.merge-scratch', 'main');
    const scratchLeft = () => (existsSync(scratch) ? readdirSync(scratch).filter((f) => f.startsWith('merge-check-')) : []);
    const leftBehind = scratchLeft().length;
    const wss = await cfs.Workspaces.open(repo.dir);
    const again = await wss.merge('x', { check: ['true'] });
    expect(again.status).toBe(advanced ? 'up-to-date' : 'merged');
    expect(git(repo.dir, 'rev-list', '--count', '--merges', 'main')).toBe('1');
    expect(git(repo.dir, 'merge-base', '--is-ancestor', made, 'main')).toBe('');
    const report = await wss.reclaim();
    table.push(
      `${point} merge ${style}: main ${advanced ? 'moved' : 'unmoved'}, ${leftBehind} scratch worktree(s) left; the next merge: ${again.status}`,
    );
    expect(report.errors).toEqual([]);
    expect(invariantProblems(repo, { commits: [made] })).toEqual([]);
    expect(scratchLeft()).toEqual([]);
    expect(git(repo.dir, 'worktree', 'list', '--porcelain')).not.toContain('.merge-scratch');
  });

  it('prints the table', () => {
    console.log(`crash point, kill style: what reclaim found and did\n${table.join('\n')}`);
  });
});
