// Workspaces under real concurrency: N agent processes creating at once (from
// `origin/main`, whose upstream tracking makes plain parallel `git worktree add` fail on
// `.git/config`), one name wanted by many, and a live owner's workspace against reclaim,
// remove, gc and prune; then the owner's SIGKILL and an immediate acquire.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeWith } from './helpers/foreign';
import { load } from './helpers/impls';
import { startNode } from './helpers/spawn';
import { type Agent, GIT_MISSING, git, invariantProblems, makeRepo, type Reply, startAgent } from './helpers/ws';

const cfs = load('native');

/** Sends `command(i)` to every agent at once, then collects every reply. */
async function all(agents: Agent[], command: (i: number) => Record<string, unknown>): Promise<Reply[]> {
  for (const [i, agent] of agents.entries()) agent.send(command(i));
  return Promise.all(agents.map((agent) => agent.next()));
}

async function closeAll(agents: Agent[]): Promise<void> {
  await Promise.all(agents.map((agent) => agent.request({ op: 'exit' }).catch(() => undefined)));
  await Promise.all(agents.map((agent) => agent.gone()));
}

describeWith(GIT_MISSING, 'Workspaces: many agents at once (real git, real processes)', () => {
  // 32 once, the rest in rounds: every create succeeds, every worktree is registered and
  // locked with our reason, every branch tracks origin/main.
  it.each([
    { n: 2, rounds: 20 },
    { n: 8, rounds: 20 },
    { n: 32, rounds: 1 },
  ])('$n agents create at once from origin/main, $rounds rounds: every create succeeds', async ({ n, rounds }) => {
    const repo = makeRepo();
    const agents = await Promise.all(Array.from({ length: n }, () => startAgent('native', repo.dir, { open: { base: 'origin/main' } })));
    const failures: Reply[] = [];
    const times: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const replies = await all(agents, (i) => ({ op: 'create', name: `r${round}-a${i}` }));
      for (const reply of replies) {
        if (!reply.ok) failures.push(reply);
        else times.push(reply.ms as number);
      }
      await all(agents, (i) => ({ op: 'release', name: `r${round}-a${i}` }));
    }
    await closeAll(agents);
    times.sort((a, b) => a - b);
    console.log(
      `${n} agents x ${rounds} rounds: ${failures.length} failed of ${n * rounds}; create ms p50 ${times[Math.floor(times.length / 2)]?.toFixed(0)} max ${times.at(-1)?.toFixed(0)}`,
    );
    expect(failures).toEqual([]);
    const worktrees = git(repo.dir, 'worktree', 'list', '--porcelain').split('\n');
    expect(worktrees.filter((l) => l.startsWith('worktree ')).length).toBe(n * rounds + 1);
    expect(worktrees.filter((l) => l.startsWith('locked concurrent-fs lease ')).length).toBe(n * rounds);
    const tracking = git(repo.dir, 'config', '--get-regexp', '^branch\\.agent/.*\\.merge$').split('\n');
    expect(tracking.length).toBe(n * rounds);
    expect(invariantProblems(repo)).toEqual([]);
  });

  it('one name created by 8 agents at once: exactly one winner, the rest EBUSY naming it', async () => {
    const repo = makeRepo();
    const agents = await Promise.all(Array.from({ length: 8 }, () => startAgent('native', repo.dir)));
    const replies = await all(agents, () => ({ op: 'create', name: 'same' }));
    const winners = replies.filter((r) => r.ok);
    expect(winners.length).toBe(1);
    const winner = winners[0] as Reply;
    for (const loser of replies.filter((r) => !r.ok)) {
      expect(loser.code).toBe('EBUSY');
      expect(loser.owner?.pid).toBe(winner.pid);
      expect(loser.message).toContain(`pid ${winner.pid}`);
    }
    await closeAll(agents);
    expect(invariantProblems(repo)).toEqual([]);
  });

  it("a live owner's workspace survives reclaim, remove, git gc --prune=now and worktree prune; after its SIGKILL, acquire succeeds at once", async () => {
    const repo = makeRepo();
    const owner = await startAgent('native', repo.dir);
    const created = await owner.request({ op: 'create', name: 'live' });
    expect(created.ok).toBe(true);
    const commit = (await owner.request({ op: 'commit', name: 'live', file: 'work.txt' })).commit as string;
    writeFileSync(join(created.path as string, 'draft.txt'), 'uncommitted');
    // As if the owner's `git add` were running: reclaim must leave its index.lock alone.
    const indexLock = join(repo.commonDir, 'worktrees', 'live', 'index.lock');
    writeFileSync(indexLock, '');

    const wss = await cfs.Workspaces.open(repo.dir);
    const report = await wss.reclaim();
    expect(report.items).toEqual([]);
    expect(report.skipped).toEqual(['live']);
    expect(existsSync(indexLock)).toBe(true);
    await expect(wss.remove('live', { discardChanges: true, keepBranch: false })).rejects.toMatchObject({
      code: 'EBUSY',
      owner: { pid: owner.pid },
    });
    await expect(wss.acquire('live')).rejects.toMatchObject({ code: 'EBUSY' });
    git(repo.dir, 'gc', '--prune=now', '--quiet');
    git(repo.dir, 'worktree', 'prune', '--expire=now');
    expect(readFileSync(join(created.path as string, 'draft.txt'), 'utf8')).toBe('uncommitted');
    expect(git(repo.dir, 'rev-parse', 'refs/heads/agent/live')).toBe(commit);
    expect((await wss.list()).map((w) => [w.name, w.state, w.owner?.pid, w.dirty, w.ahead])).toEqual([
      ['live', 'active', owner.pid, true, 1],
    ]);

    const killedAt = performance.now();
    owner.kill('process');
    await owner.gone();
    const ws = await wss.acquire('live');
    const ms = performance.now() - killedAt;
    console.log(`SIGKILL of the owner -> acquire resolved: ${ms.toFixed(1)} ms (including git time)`);
    expect(ws.path).toBe(created.path);
    expect(existsSync(indexLock)).toBe(false); // stale now: its writer is gone
    expect(readFileSync(join(ws.path, 'draft.txt'), 'utf8')).toBe('uncommitted');
    await ws.release();
    await wss.remove('live', { discardChanges: true });
    expect(existsSync(created.path as string)).toBe(false);
    expect(git(repo.dir, 'rev-parse', 'refs/heads/agent/live')).toBe(commit); // kept: it has a commit of its own
    expect(invariantProblems(repo, { commits: [commit] })).toEqual([]);
  });
});

describeWith(GIT_MISSING, 'Workspaces: pid leases (ownerPid)', () => {
  it('a workspace owned by a live pid is left alone by reclaim even when broken, and repaired once that process is gone', async () => {
    const repo = makeRepo();
    const sleeper = startNode('setInterval(() => {}, 1000)').process; // killed after the test, if not before
    const wss = await cfs.Workspaces.open(repo.dir);
    const ws = await wss.create('hooked', { ownerPid: sleeper.pid as number });
    await ws.release(); // the pid lease alone owns it now
    await expect(wss.acquire('hooked')).rejects.toMatchObject({ code: 'EBUSY', owner: { pid: sleeper.pid } });
    rmSync(ws.path, { recursive: true, force: true }); // broken: registered, directory gone
    const whileAlive = await wss.reclaim();
    expect(whileAlive.skipped).toEqual(['hooked']);
    expect(git(repo.dir, 'worktree', 'list')).toContain('hooked');

    const exited = new Promise((resolve) => sleeper.on('exit', resolve));
    sleeper.kill('SIGKILL');
    await exited;
    const after = await wss.reclaim();
    expect(after.items.map((i) => [i.name, i.kind])).toEqual([
      ['hooked', 'missing-directory'],
      ['hooked', 'dangling-branch'],
    ]);
    expect(git(repo.dir, 'worktree', 'list')).not.toContain('hooked');
    expect(invariantProblems(repo)).toEqual([]);
  });
});

describeWith(GIT_MISSING, 'Workspaces: what is not ours', () => {
  it('a worktree someone else put in the root is never touched by reclaim, list or create', async () => {
    const repo = makeRepo();
    const foreign = join(repo.root, 'mine');
    git(repo.dir, 'worktree', 'add', '-q', '-b', 'agent/mine', foreign, 'main');
    writeFileSync(join(foreign, 'draft.txt'), 'my uncommitted work');
    const wss = await cfs.Workspaces.open(repo.dir);
    expect((await wss.reclaim()).items).toEqual([]);
    expect(await wss.list()).toEqual([]);
    const ws = await wss.create('other');
    await ws.release();
    await expect(wss.create('mine')).rejects.toMatchObject({ code: 'EEXIST' });
    expect(readFileSync(join(foreign, 'draft.txt'), 'utf8')).toBe('my uncommitted work');
    expect(git(repo.dir, 'worktree', 'list')).toContain(foreign);
  });
});

describeWith(GIT_MISSING, 'Workspaces on the JS fallback (lock files instead of kernel leases)', () => {
  it('4 agents create at once, and one name by 4: one winner, the rest EBUSY', async () => {
    const repo = makeRepo();
    const agents = await Promise.all(Array.from({ length: 4 }, () => startAgent('js', repo.dir, { open: { base: 'origin/main' } })));
    const distinct = await all(agents, (i) => ({ op: 'create', name: `a${i}` }));
    expect(distinct.filter((r) => !r.ok)).toEqual([]);
    const same = await all(agents, () => ({ op: 'create', name: 'same' }));
    expect(same.filter((r) => r.ok).length).toBe(1);
    expect(same.filter((r) => !r.ok).map((r) => r.code)).toEqual(['EBUSY', 'EBUSY', 'EBUSY']);
    await closeAll(agents);
    expect(invariantProblems(repo)).toEqual([]);
  });
});

describe('Workspaces: arguments', () => {
  it.each([['../x'], ['a/b'], [''], ['.hidden'], ['x.lock'], ['a..b'], ['-rf'], ['x y']])(
    "refuses the name '%s' before touching anything",
    async (name) => {
      if (GIT_MISSING) return;
      const repo = makeRepo(1);
      const wss = await cfs.Workspaces.open(repo.dir);
      await expect(wss.create(name)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
      expect(existsSync(join(repo.stateRoot, 'workspaces'))).toBe(false);
      expect(git(repo.dir, 'branch', '--list', 'agent/*')).toBe('');
    },
  );
});
