// `concurrent-fs ws ...` and `concurrent-fs git -- ...` as real processes against
// dist/cli.js, on real git repositories.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it, onTestFinished } from 'vitest';
import { runCli, startCli } from './helpers/cli';
import { describeWith } from './helpers/foreign';
import { startNode } from './helpers/spawn';
import { tempDir } from './helpers/tmp';
import { GIT_MISSING, git, makeRepo } from './helpers/ws';

/** A node one-liner as a COMMAND. */
const nodeCmd = (script: string) => [process.execPath, '-e', script];
/** A COMMAND that prints `ready <pid>` and runs until SIGTERM (not stdin: Node closes a dead child's stdin pipe). */
const HOLDER = nodeCmd("console.log('ready', process.pid); setInterval(() => {}, 1000);");

describeWith(GIT_MISSING, 'concurrent-fs ws', () => {
  it('create --json prints {name, path, branch}; path, list --json and the checkout agree', async () => {
    const repo = makeRepo();
    const created = await runCli(['ws', 'create', 'alice', '--json', '--include', '.env'], { cwd: repo.dir });
    expect(created).toMatchObject({ code: 0, stderr: '' });
    const info = JSON.parse(created.stdout) as { name: string; path: string; branch: string };
    expect(info).toEqual({ name: 'alice', path: join(repo.root, 'alice'), branch: 'agent/alice' });
    expect(readFileSync(join(info.path, 'file-0.txt'), 'utf8')).toBe('content 0\n');
    expect(readFileSync(join(info.path, '.env'), 'utf8')).toBe('SECRET=1\n');
    expect((await runCli(['ws', 'path', 'alice', '--repo', repo.dir])).stdout).toBe(`${info.path}\n`);
    const listed = JSON.parse((await runCli(['ws', 'list', '--json', '--repo', repo.dir])).stdout) as { name: string; state: string }[];
    expect(listed.map((w) => [w.name, w.state])).toEqual([['alice', 'idle']]);
    expect((await runCli(['ws', 'path', 'nobody', '--repo', repo.dir])).code).toBe(1);
  });

  it('run --create runs COMMAND in the workspace with its variables and exits with its status', async () => {
    const repo = makeRepo();
    const print = nodeCmd(
      'const e = process.env; console.log([e.CFS_WORKSPACE, e.CFS_WORKSPACE_PATH, e.CFS_BRANCH, e.CFS_STATE_DIR, process.cwd()].join(" ")); process.exit(7)',
    );
    const ran = await runCli(['ws', 'run', 'bob', '--create', '--repo', repo.dir, '--', ...print]);
    const path = join(repo.root, 'bob');
    expect(ran).toMatchObject({ code: 7, stdout: `bob ${path} agent/bob ${repo.stateRoot} ${path}\n` });
    // Exists now: without --create it is acquired.
    expect((await runCli(['ws', 'run', 'bob', '--repo', repo.dir, '--', 'true'])).code).toBe(0);
    expect((await runCli(['ws', 'run', 'nobody', '--repo', repo.dir, '--', 'true'])).code).toBe(1);
  });

  it('COMMAND holds the lease: busy (75) for others while it runs, even after its wrapper is SIGKILLed; free once it ends', async () => {
    const repo = makeRepo();
    const running = startCli(['ws', 'run', 'carol', '--create', '--repo', repo.dir, '--', ...HOLDER]);
    const commandPid = Number((await running.output(/ready (\d+)/))[1]);
    onTestFinished(() => {
      try {
        process.kill(commandPid, 'SIGKILL');
      } catch {}
    });
    const busy = await runCli(['ws', 'run', 'carol', '--repo', repo.dir, '--', 'true']);
    expect(busy.code).toBe(75);
    expect(busy.stderr).toMatch(/EBUSY: workspace 'carol' is owned by pid \d+/);
    expect((await runCli(['ws', 'remove', 'carol', '--discard', '--repo', repo.dir])).code).toBe(75);
    const wrapperGone = new Promise((resolve) => running.child.on('exit', resolve));
    running.child.kill('SIGKILL'); // COMMAND lives on, with the lease it inherited
    await wrapperGone;
    expect((await runCli(['ws', 'run', 'carol', '--repo', repo.dir, '--', 'true'])).code).toBe(75);
    const listed = JSON.parse((await runCli(['ws', 'list', '--json', '--repo', repo.dir])).stdout) as { state: string }[];
    expect(listed[0]?.state).toBe('active');
    process.kill(commandPid, 'SIGTERM');
    // COMMAND is not our child: poll until its lease is free.
    const end = Date.now() + 30_000;
    let code: number | null = 75;
    while (code === 75 && Date.now() < end) code = (await runCli(['ws', 'run', 'carol', '--repo', repo.dir, '--', 'true'])).code;
    expect(code).toBe(0);
  });

  it('passes SIGTERM on to COMMAND and exits with its status', async () => {
    const repo = makeRepo();
    const trap = nodeCmd("process.on('SIGTERM', () => process.exit(5)); console.log('ready'); setInterval(() => {}, 1000);");
    const running = startCli(['ws', 'run', 'dave', '--create', '--repo', repo.dir, '--', ...trap]);
    await running.output(/ready/);
    running.child.kill('SIGTERM');
    expect((await running.exited).code).toBe(5);
  });

  it('create --owner-pid: owned while that process lives, free at its death', async () => {
    const repo = makeRepo();
    const owner = startNode('process.stdin.resume()').process;
    const created = await runCli(['ws', 'create', 'eve', '--owner-pid', String(owner.pid), '--repo', repo.dir]);
    expect(created.code).toBe(0);
    const busy = await runCli(['ws', 'run', 'eve', '--repo', repo.dir, '--', 'true']);
    expect(busy.code).toBe(75);
    expect(busy.stderr).toContain(`pid ${owner.pid}`);
    const exited = new Promise((resolve) => owner.on('exit', resolve));
    owner.kill('SIGKILL');
    await exited;
    expect((await runCli(['ws', 'run', 'eve', '--repo', repo.dir, '--', 'true'])).code).toBe(0);
  });

  it('remove refuses uncommitted changes (4) unless --discard; keeps a branch with commits of its own', async () => {
    const repo = makeRepo();
    const path = JSON.parse((await runCli(['ws', 'create', 'fay', '--json', '--repo', repo.dir])).stdout).path as string;
    writeFileSync(join(path, 'new.txt'), 'x');
    git(path, 'add', 'new.txt');
    git(path, 'commit', '-q', '-m', 'work');
    writeFileSync(join(path, 'draft.txt'), 'y');
    const refused = await runCli(['ws', 'remove', 'fay', '--repo', repo.dir]);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain('draft.txt');
    expect((await runCli(['ws', 'remove', 'fay', '--delete-branch', '--repo', repo.dir, '--discard', '--keep-branch'])).code).toBe(2);
    const removed = await runCli(['ws', 'remove', 'fay', '--discard', '--json', '--repo', repo.dir]);
    expect(removed.code).toBe(0);
    expect(JSON.parse(removed.stdout)).toEqual({ name: 'fay', branch: 'agent/fay', branchKept: true });
    expect(existsSync(path)).toBe(false);
    expect(git(repo.dir, 'log', '-1', '--format=%s', 'agent/fay')).toBe('work');
  });

  it('reclaim --json reports what a SIGKILLed create left, and repairs it', async () => {
    const repo = makeRepo();
    const env = { CFS_CRASH_AT: 'ws.create.before-record' };
    const creating = startCli(['ws', 'create', 'gus', '--repo', repo.dir], { env });
    await new Promise<void>((resolve) =>
      creating.child.stderr.on('data', (d: Buffer) => String(d).includes('CFS_CRASH_POINT') && resolve()),
    );
    creating.child.kill('SIGKILL');
    await creating.exited;
    const dry = JSON.parse((await runCli(['ws', 'reclaim', '--dry-run', '--json', '--repo', repo.dir])).stdout);
    expect(dry.items.map((i: { name: string; kind: string }) => [i.name, i.kind])).toEqual([['gus', 'half-created']]);
    expect(existsSync(join(repo.root, 'gus'))).toBe(true);
    const done = await runCli(['ws', 'reclaim', '--repo', repo.dir]);
    expect(done).toMatchObject({ code: 0, stdout: 'gus\thalf-created\trolled back\n' });
    expect(existsSync(join(repo.root, 'gus'))).toBe(false);
    expect(git(repo.dir, 'branch', '--list', 'agent/*')).toBe('');
  });

  it('merge exits 0 merged (the commit, or JSON), 3 on a conflict (its files), 4 when --check fails, 1 refused; conflicts --json names the pair', async () => {
    const repo = makeRepo();
    const pathOf = async (name: string) =>
      JSON.parse((await runCli(['ws', 'create', name, '--json', '--repo', repo.dir])).stdout).path as string;
    const edit = (dir: string, file: string, text: string) => {
      writeFileSync(join(dir, file), text);
      git(dir, 'add', file);
      git(dir, 'commit', '-q', '-m', `edit ${file}`);
    };
    const [alice, bob, carol] = [await pathOf('alice'), await pathOf('bob'), await pathOf('carol')];
    edit(alice, 'file-0.txt', 'alice\n');
    edit(bob, 'file-0.txt', 'bob\n');
    edit(carol, 'carol.txt', 'carol\n');
    const found = await runCli(['ws', 'conflicts', '--json', '--repo', repo.dir]);
    expect(found).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(found.stdout)).toEqual([{ a: 'alice', b: 'bob', files: ['file-0.txt'] }]);
    expect((await runCli(['ws', 'conflicts', '--repo', repo.dir])).stdout).toBe('alice\tbob\tfile-0.txt\n');

    const merged = await runCli(['ws', 'merge', 'alice', '--json', '--repo', repo.dir]);
    expect(merged).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(merged.stdout)).toEqual({ status: 'merged', commit: git(repo.dir, 'rev-parse', 'main') });
    const main = git(repo.dir, 'rev-parse', 'main');

    const conflict = await runCli(['ws', 'merge', 'bob', '--repo', repo.dir]);
    expect(conflict).toMatchObject({ code: 3, stdout: 'file-0.txt\n' });
    const conflictJson = await runCli(['ws', 'merge', 'bob', '--json', '--repo', repo.dir]);
    expect(conflictJson.code).toBe(3);
    expect(JSON.parse(conflictJson.stdout)).toEqual({ status: 'conflict', files: ['file-0.txt'] });
    expect(git(repo.dir, 'rev-parse', 'main')).toBe(main);

    const refused = await runCli(['ws', 'merge', 'carol', '--ff-only', '--repo', repo.dir]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/EMERGEREFUSED: 'agent\/carol' is not a fast-forward of 'main'/);
    const failed = await runCli(['ws', 'merge', 'carol', '--check', 'cat carol.txt; exit 9', '--repo', repo.dir]);
    expect(failed).toMatchObject({ code: 4, stdout: 'carol\n' });
    expect(failed.stderr).toContain('exit 9');
    expect(git(repo.dir, 'rev-parse', 'main')).toBe(main);
    const passed = await runCli(['ws', 'merge', 'carol', '--check', 'test -f carol.txt', '--squash', '--repo', repo.dir]);
    expect(passed).toMatchObject({ code: 0, stdout: `${git(repo.dir, 'rev-parse', 'main')}\n` });
    expect((await runCli(['ws', 'merge', 'carol', '--repo', repo.dir])).code).toBe(0); // squashed: its changes are there
    expect((await runCli(['ws', 'merge', 'nobody', '--repo', repo.dir])).code).toBe(1);
  });

  it.each([
    [['ws']],
    [['ws', 'merge']],
    [['ws', 'merge', 'x', '--squash', '--rebase']],
    [['ws', 'conflicts', 'x']],
    [['ws', 'create']],
    [['ws', 'create', 'a/b']],
    [['ws', 'create', 'a', 'b']],
    [['ws', 'run', 'x']],
    [['ws', 'create', 'x', '--owner-pid', 'abc']],
    [['ws', 'list', '--frob']],
    [['git']],
  ])('%j exits 2 with usage', async (args) => {
    const dir = makeRepo(1).dir;
    const run = await runCli(args, { cwd: dir });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('Usage: concurrent-fs');
  });
});

describeWith(GIT_MISSING, 'concurrent-fs git', () => {
  it('8 parallel `git -- fetch origin` while origin has moved: all succeed (coalesced under the repo lock)', async () => {
    const repo = makeRepo();
    const other = join(tempDir('cfs-ws-other'), 'clone');
    git(repo.dir, 'clone', '-q', repo.origin, other);
    writeFileSync(join(other, 'moved.txt'), 'moved');
    git(other, 'add', 'moved.txt');
    git(other, '-c', 'user.name=o', '-c', 'user.email=o@example.com', 'commit', '-q', '-m', 'moved');
    git(other, 'push', '-q', 'origin', 'HEAD:main');
    const runs = await Promise.all(Array.from({ length: 8 }, () => runCli(['git', '--repo', repo.dir, '--', 'fetch', 'origin'])));
    expect(runs.map((r) => r.code)).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(git(repo.dir, 'rev-parse', 'origin/main')).toBe(git(other, 'rev-parse', 'HEAD'));
    const status = await runCli(['git', '--repo', repo.dir, '--', 'status', '--porcelain']);
    expect(status).toMatchObject({ code: 0, stdout: '' });
    expect((await runCli(['git', '--repo', repo.dir, '--', 'rev-parse', '--verify', 'nope'])).code).toBe(128);
  });
});
