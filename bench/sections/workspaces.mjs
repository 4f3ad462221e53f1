// @ts-check
// Workspaces (issue 12): N agents creating git worktrees at once, against plain parallel
// `git worktree add` (which fails on `.git/config` when the branch gets upstream
// tracking) and a fully serialised add; and how long after an owner's SIGKILL its
// workspace can be acquired. Real git, real processes, on generated repositories.
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const WORKER = new URL('../workers/ws-create.cjs', import.meta.url).pathname;
const require = createRequire(import.meta.url);

const git = (cwd, ...args) => run('git', args, { cwd, maxBuffer: 64 << 20, env: { ...process.env, LC_ALL: 'C' } });

/** A repository of `files` files (100 per directory), a bare `origin` and `origin/main`. */
export async function generateRepo(dir, files) {
  const repo = join(dir, 'repo');
  mkdirSync(repo, { recursive: true });
  await git(repo, 'init', '-q', '-b', 'main');
  for (const [k, v] of [
    ['user.name', 'bench'],
    ['user.email', 'bench@example.com'],
    ['gc.auto', '0'],
  ])
    await git(repo, 'config', k, v);
  for (let i = 0; i < files; i++) {
    const sub = join(repo, 'src', `d${Math.floor(i / 100)}`);
    if (i % 100 === 0) mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, `f${i}.txt`), `file ${i}\n${'x'.repeat(64)}\n`);
  }
  await git(repo, 'add', '.');
  await git(repo, 'commit', '-q', '-m', 'generated');
  await git(dir, 'clone', '-q', '--bare', repo, join(dir, 'origin.git'));
  await git(repo, 'remote', 'add', 'origin', join(dir, 'origin.git'));
  await git(repo, 'fetch', '-q', 'origin');
  return repo;
}

function quantile(sorted, q) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : Number.NaN;
}

/** N plain `git worktree add -b <branch> <path> origin/main` started at once. */
async function plainParallel(repo, root, n, tag) {
  const started = performance.now();
  const results = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      git(repo, 'worktree', 'add', '-q', '-b', `plain/${tag}-${i}`, join(root, `${tag}-${i}`), 'origin/main').then(
        () => ({ ok: true }),
        (err) => ({
          ok: false,
          error:
            String(err.stderr)
              .split('\n')
              .find((l) => /error|fatal/.test(l)) ?? String(err.stderr),
        }),
      ),
    ),
  );
  const wall = performance.now() - started;
  const failures = results.filter((r) => !r.ok);
  const branches = (await git(repo, 'for-each-ref', '--format=%(refname)', `refs/heads/plain/${tag}-*`)).stdout.split('\n').filter(Boolean);
  const registered = (await git(repo, 'worktree', 'list', '--porcelain')).stdout
    .split('\n')
    .filter((l) => l.startsWith('worktree ') && l.includes(`${tag}-`)).length;
  return {
    wall,
    failures: failures.length,
    errors: [...new Set(failures.map((f) => f.error))],
    danglingBranches: branches.length - registered,
  };
}

/** The same N adds one after another. */
async function serialised(repo, root, n, tag) {
  const started = performance.now();
  for (let i = 0; i < n; i++)
    await git(repo, 'worktree', 'add', '-q', '-b', `serial/${tag}-${i}`, join(root, `${tag}-${i}`), 'origin/main');
  return { wall: performance.now() - started };
}

function startAgent(repo, root, name) {
  const child = spawn(process.execPath, [WORKER, repo, root, name, 'origin/main'], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  const lines = [];
  const waiters = [];
  child.stdout.on('data', (d) => {
    out += d;
    for (let end = out.indexOf('\n'); end >= 0; end = out.indexOf('\n')) {
      const line = out.slice(0, end);
      out = out.slice(end + 1);
      const w = waiters.shift();
      if (w) w(line);
      else lines.push(line);
    }
  });
  const next = () => new Promise((resolve) => (lines.length ? resolve(lines.shift()) : waiters.push(resolve)));
  return { child, next };
}

/** N agents (already started) create at once through Workspaces. */
async function ours(repo, root, n, tag) {
  const agents = Array.from({ length: n }, (_, i) => startAgent(repo, root, `${tag}-${i}`));
  await Promise.all(agents.map(async (a) => (await a.next()) === 'ready' || Promise.reject(new Error('agent not ready'))));
  const started = performance.now();
  for (const a of agents) a.child.stdin.write('go\n');
  const results = (await Promise.all(agents.map((a) => a.next()))).map((line) => JSON.parse(line));
  const wall = performance.now() - started;
  for (const a of agents) a.child.stdin.end();
  await Promise.all(agents.map((a) => new Promise((resolve) => a.child.on('close', resolve))));
  const ms = results.map((r) => r.ms).sort((a, b) => a - b);
  return {
    wall,
    failures: results.filter((r) => !r.ok).length,
    errors: results.filter((r) => !r.ok).map((r) => r.message),
    p50: quantile(ms, 0.5),
    p99: quantile(ms, 0.99),
  };
}

/** Removes every linked worktree and the bench's branches, so the next scenario starts alike. */
async function cleanUp(repo, root) {
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  const locked = (await git(repo, 'worktree', 'list', '--porcelain')).stdout.split('\n\n').filter((e) => e.includes('\nlocked'));
  for (const entry of locked) await git(repo, 'worktree', 'unlock', entry.split('\n')[0].slice('worktree '.length)).catch(() => {});
  await git(repo, 'worktree', 'prune', '--expire=now');
  rmSync(join(repo, '.git', 'concurrent-fs', 'workspaces'), { recursive: true, force: true });
  const branches = (
    await git(repo, 'for-each-ref', '--format=%(refname:short)', 'refs/heads/plain', 'refs/heads/serial', 'refs/heads/agent')
  ).stdout
    .split('\n')
    .filter(Boolean);
  if (branches.length) await git(repo, 'branch', '-q', '-D', ...branches);
  // The next scenario must not pay for this one's writeback (hundreds of thousands of
  // files written and deleted): flush it now.
  await run('sync', []);
}

/** ms from an owner's SIGKILL to a successful acquire() of its workspace, `times` times. */
async function killToReusable(repo, root, times) {
  const { Workspaces } = require('../../dist/native.js');
  const wss = await Workspaces.open(repo, { root });
  const samples = [];
  for (let i = 0; i < times; i++) {
    const agent = startAgent(repo, root, `kill-${i}`);
    await agent.next();
    agent.child.stdin.write('go\n');
    await agent.next();
    const exited = new Promise((resolve) => agent.child.on('exit', resolve));
    const killed = performance.now();
    agent.child.kill('SIGKILL');
    await exited;
    const ws = await wss.acquire(`kill-${i}`);
    samples.push(performance.now() - killed);
    await ws.release();
  }
  return samples.sort((a, b) => a - b);
}

/**
 * The section. `counts`: agents at once for the failure counts, `failureRounds` rounds of
 * each on a repository of `smallFiles`; `timingCounts`: agents at once for the wall times,
 * on a repository of `bigFiles`.
 */
export async function runWorkspaces({
  counts = [4, 8, 16],
  timingCounts = counts,
  failureRounds = 5,
  smallFiles = 200,
  bigFiles = 20_000,
  killTimes = 5,
  dir = tmpdir(),
  log = console.error,
} = {}) {
  const base = mkdtempSync(join(dir, 'cfs-bench-ws-'));
  try {
    const result = { failures: [], timing: [], killToReusable: undefined };
    // 1. Failure counts: many rounds on a small repository (the race is in .git, not the checkout).
    const small = await generateRepo(join(base, 'small'), smallFiles);
    const smallRoot = join(base, 'small', 'wt');
    for (const n of counts) {
      const row = { n, rounds: failureRounds, plain: 0, plainDangling: 0, ours: 0, errors: new Set() };
      for (let r = 0; r < failureRounds; r++) {
        const plain = await plainParallel(small, smallRoot, n, `p${n}r${r}`);
        row.plain += plain.failures;
        row.plainDangling += plain.danglingBranches;
        for (const e of plain.errors) row.errors.add(e);
        await cleanUp(small, smallRoot);
        row.ours += (await ours(small, smallRoot, n, `o${n}r${r}`)).failures;
        await cleanUp(small, smallRoot);
      }
      row.errors = [...row.errors];
      log(
        `workspaces: N=${n} x ${failureRounds} rounds: plain git ${row.plain}/${n * failureRounds} failed (${row.plainDangling} dangling branches), ours ${row.ours}/${n * failureRounds}`,
      );
      result.failures.push(row);
    }
    // 2. Wall times on a big repository: plain parallel, serialised, ours. Nothing is
    // deleted between the scenarios (deleting N x 20k files slowed whichever scenario came
    // next by several times on this VM); each gets a root of its own, writeback is flushed
    // before each, and the order turns with N so that no kind always follows the same one.
    const big = await generateRepo(join(base, 'big'), bigFiles);
    const rootOf = (tag) => join(base, 'big', tag);
    await run('sync', []);
    const single = await serialised(big, rootOf('single'), 1, 'single');
    for (const [index, n] of timingCounts.entries()) {
      const kinds = {
        plain: () => plainParallel(big, rootOf(`p${n}`), n, `p${n}`),
        serialised: async () => (await serialised(big, rootOf(`s${n}`), n, `s${n}`)).wall,
        ours: () => ours(big, rootOf(`o${n}`), n, `o${n}`),
      };
      const order = ['plain', 'serialised', 'ours'];
      for (let turn = 0; turn < index % order.length; turn++) order.push(order.shift());
      const measured = {};
      for (const kind of order) {
        await run('sync', []);
        measured[kind] = await kinds[kind]();
      }
      const { plain, serialised: serial, ours: mine } = measured;
      const row = { n, files: bigFiles, order, singleAdd: single.wall, plain, serialised: serial, ours: mine };
      log(
        `workspaces: N=${n}, ${bigFiles} files (order ${order.join(', ')}): plain parallel ${plain.failures} failed, ${plain.wall.toFixed(0)} ms; serialised ${serial.toFixed(0)} ms; ours ${mine.failures} failed, ${mine.wall.toFixed(0)} ms (create p50 ${mine.p50.toFixed(0)}, p99 ${mine.p99.toFixed(0)} ms); one add alone ${single.wall.toFixed(0)} ms`,
      );
      result.timing.push(row);
    }
    // 3. SIGKILL of an owner -> acquire() resolved.
    const samples = await killToReusable(small, smallRoot, killTimes);
    result.killToReusable = { p50: quantile(samples, 0.5), max: samples.at(-1), samples };
    log(`workspaces: SIGKILL -> acquire: p50 ${result.killToReusable.p50.toFixed(1)} ms, max ${result.killToReusable.max.toFixed(1)} ms`);
    return result;
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}
