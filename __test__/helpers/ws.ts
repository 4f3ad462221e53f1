// Workspaces tests: real git repositories (with a bare "origin", so `origin/main` exists
// and branches made from it get upstream tracking), agents as real processes driven by
// JSON lines (fixtures/ws-agent.cjs), the kill styles of the crash tests, and the
// invariants every state must satisfy once reclaim has run.
import { type ChildProcessWithoutNullStreams, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { FIXTURES, isAlive, ROOT } from './spawn';
import { tempDir } from './tmp';

/** Why the installed git cannot run these tests, or undefined. */
function gitMissing(): string | undefined {
  const probe = spawnSync('git', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) return 'git is not installed';
  const [major = 0, minor = 0] = (/(\d+)\.(\d+)/.exec(probe.stdout) ?? []).slice(1).map(Number);
  if (major < 2 || (major === 2 && minor < 38)) return `git ${major}.${minor} is older than 2.38`;
  return undefined;
}

export const GIT_MISSING = gitMissing();

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } }).trim();
}

export interface TestRepo {
  /** The main worktree. */
  dir: string;
  /** Where the workspaces go (the default root). */
  root: string;
  origin: string;
  /** `<dir>/.git`. */
  commonDir: string;
  stateRoot: string;
}

/** A repository with a few files, an ignored `.env`, and a bare clone as `origin` (fetched). */
export function makeRepo(files = 3): TestRepo {
  const base = tempDir('cfs-ws');
  const dir = join(base, 'repo');
  mkdirSync(dir);
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'config', 'user.name', 'test');
  git(dir, 'config', 'user.email', 'test@example.com');
  git(dir, 'config', 'gc.auto', '0');
  writeFileSync(join(dir, '.gitignore'), '.env\n');
  writeFileSync(join(dir, '.env'), 'SECRET=1\n');
  for (let i = 0; i < files; i++) writeFileSync(join(dir, `file-${i}.txt`), `content ${i}\n`);
  git(dir, 'add', '.');
  git(dir, 'commit', '-q', '-m', 'initial');
  const origin = join(base, 'origin.git');
  git(base, 'clone', '-q', '--bare', dir, origin);
  git(dir, 'remote', 'add', 'origin', origin);
  git(dir, 'fetch', '-q', 'origin');
  const commonDir = join(dir, '.git');
  return { dir, root: join(base, 'repo.workspaces'), origin, commonDir, stateRoot: join(commonDir, 'concurrent-fs') };
}

export type Reply = { ok: boolean; code?: string; message?: string; owner?: { pid: number; host: string } } & Record<string, unknown>;

/** How a crash test kills: the agent alone, its process group (its git children too), or its parent (closing its pipes). */
export type KillStyle = 'process' | 'group' | 'parent';

export interface Agent {
  /** The agent's pid (the process that runs the library). */
  readonly pid: number;
  request(command: Record<string, unknown>): Promise<Reply>;
  send(command: Record<string, unknown>): void;
  next(): Promise<Reply>;
  /** Resolves when the agent reaches the crash point of its CFS_CRASH_AT. */
  readonly crashPoint: Promise<string>;
  kill(style: KillStyle): void;
  /** Resolves once the agent process is gone (it may be a grandchild: polled). */
  gone(): Promise<void>;
  readonly stderr: () => string;
}

const started: ChildProcessWithoutNullStreams[] = [];

afterEach(() => {
  for (const child of started.splice(0)) {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    } catch {}
  }
});

/** Polls `condition` (for things that send no event) until it holds; a generous deadline. */
export async function waitUntil(condition: () => boolean | Promise<boolean>, what: string, deadlineMs = 60_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  for (let pause = 2; !(await condition()); pause = Math.min(pause * 2, 100)) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}

/**
 * Starts an agent (fixtures/ws-agent.cjs) in its own process group; with `viaParent`, under
 * fixtures/ws-parent.cjs. Resolves once it has opened the repository.
 */
export async function startAgent(
  impl: 'native' | 'js',
  repo: string,
  options: { open?: Record<string, unknown>; env?: Record<string, string>; viaParent?: boolean } = {},
): Promise<Agent> {
  const script = join(FIXTURES, options.viaParent ? 'ws-parent.cjs' : 'ws-agent.cjs');
  const child = spawn(process.execPath, [script, impl, repo, JSON.stringify(options.open ?? {})], {
    cwd: ROOT,
    env: { ...process.env, ...options.env },
    detached: true,
  });
  started.push(child);
  child.stdin.on('error', () => undefined);
  const lines: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  let stderr = '';
  let pending = '';
  let crashed: (point: string) => void = () => undefined;
  const crashPoint = new Promise<string>((resolve) => {
    crashed = resolve;
  });
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    pending += chunk;
    for (let end = pending.indexOf('\n'); end >= 0; end = pending.indexOf('\n')) {
      const line = pending.slice(0, end);
      pending = pending.slice(end + 1);
      const waiter = waiting.shift();
      if (waiter) waiter(line);
      else lines.push(line);
    }
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr += chunk;
    const match = /CFS_CRASH_POINT (\S+)/.exec(stderr);
    if (match) crashed(match[1] as string);
  });
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const nextLine = () =>
    new Promise<string>((resolve, reject) => {
      const line = lines.shift();
      if (line !== undefined) return resolve(line);
      waiting.push(resolve);
      exited.then(() => reject(new Error(`agent exited; stderr: ${stderr}`)));
    });
  const next = async () => JSON.parse(await nextLine()) as Reply;
  const send = (command: Record<string, unknown>) => child.stdin.write(`${JSON.stringify(command)}\n`);
  let pid = child.pid as number;
  if (options.viaParent) pid = (JSON.parse(await nextLine()) as { child: number }).child;
  const ready = (await next()) as { ready?: number };
  if (ready.ready !== pid) throw new Error(`agent said ${JSON.stringify(ready)}`);
  return {
    pid,
    send,
    next,
    request: async (command) => {
      send(command);
      return next();
    },
    crashPoint,
    stderr: () => stderr,
    kill(style) {
      if (style === 'process') process.kill(pid, 'SIGKILL');
      else if (style === 'group') process.kill(-(child.pid as number), 'SIGKILL');
      else process.kill(child.pid as number, 'SIGKILL');
    },
    gone: () => waitUntil(() => !isAlive(pid), `agent ${pid} to end`),
  };
}

/** The problems with the repository's state (empty: all invariants hold). Call with no live owner. */
export function invariantProblems(repo: TestRepo, options: { prefix?: string; commits?: string[] } = {}): string[] {
  const prefix = options.prefix ?? 'agent/';
  const problems: string[] = [];
  const listed = git(repo.dir, 'worktree', 'list', '--porcelain', '-z')
    .split('\0\0')
    .filter((entry) => entry.trim() !== '')
    .map((entry) => Object.fromEntries(entry.split('\0').map((f) => [f.split(' ')[0], f.slice(f.indexOf(' ') + 1)])));
  const linked = listed.slice(1);
  const recordsDir = join(repo.stateRoot, 'workspaces');
  const records = existsSync(recordsDir)
    ? readdirSync(recordsDir)
        .filter((f) => f.endsWith('.json'))
        .map((f) => JSON.parse(readFileSync(join(recordsDir, f), 'utf8')) as { name: string; path: string; state: string; branch: string })
    : [];
  for (const record of records) {
    if (record.state === 'creating' || record.state === 'removing') problems.push(`record ${record.name} is still '${record.state}'`);
    const registered = linked.some((r) => r.worktree === record.path);
    if (record.state === 'ready' && !registered) problems.push(`ready record ${record.name} has no registration`);
    if (record.state === 'ready' && !existsSync(record.path)) problems.push(`ready record ${record.name} has no directory`);
    if (record.state === 'orphaned' && registered) problems.push(`orphaned record ${record.name} is registered`);
  }
  for (const registration of linked) {
    if (!records.some((r) => r.path === registration.worktree && r.state === 'ready'))
      problems.push(`registration ${registration.worktree} has no ready record`);
  }
  const admin = join(repo.commonDir, 'worktrees');
  for (const id of existsSync(admin) ? readdirSync(admin) : []) {
    const locked = join(admin, id, 'locked');
    if (existsSync(locked) && readFileSync(locked, 'utf8').trim() === 'initializing') problems.push(`${id} is 'locked: initializing'`);
    if (existsSync(join(admin, id, 'index.lock'))) problems.push(`${id} has an index.lock`);
  }
  const branches = git(repo.dir, 'for-each-ref', '--format=%(refname:short)', `refs/heads/${prefix}`).split('\n').filter(Boolean);
  for (const branch of branches) {
    if (linked.some((r) => r.branch === `refs/heads/${branch}`)) continue;
    const own = git(
      repo.dir,
      'rev-list',
      '--count',
      `refs/heads/${branch}`,
      '--not',
      `--exclude=${branch}`,
      '--branches',
      '--tags',
      '--remotes',
    );
    if (own === '0') problems.push(`branch ${branch} dangles without commits of its own`);
  }
  for (const commit of options.commits ?? []) {
    const refs = git(repo.dir, 'for-each-ref', '--contains', commit, '--format=%(refname)');
    if (refs === '') problems.push(`commit ${commit} is not reachable from any ref`);
  }
  return problems;
}
