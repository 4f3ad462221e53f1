// @ts-check
// Workspaces (issue 12): N agents creating git worktrees at once, against plain parallel
// `git worktree add` (which fails on `.git/config` when the branch gets upstream
// tracking) and a fully serialised add; and how long after an owner's SIGKILL its
// workspace can be acquired. Real git, real processes, on generated repositories.
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { inScratchDir } from '../lib/scratch.mjs';

const run = promisify(execFile);
const WORKER = new URL('../workers/ws-create.cjs', import.meta.url).pathname;
const require = createRequire(import.meta.url);

const git = (/** @type {string} */ cwd, /** @type {string[]} */ ...args) =>
  run('git', args, { cwd, maxBuffer: 64 << 20, env: { ...process.env, LC_ALL: 'C' } });

/** A repository of `files` files (100 per directory), a bare `origin` and `origin/main`. */
export async function generateRepo(/** @type {string} */ dir, /** @type {number} */ files) {
  const repo = join(dir, 'repo');
  mkdirSync(repo, { recursive: true });
  await git(repo, 'init', '-q', '-b', 'main');
  for (const [k, v] of /** @type {const} */ ([
    ['user.name', 'bench'],
    ['user.email', 'bench@example.com'],
    ['gc.auto', '0'],
  ]))
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

function quantile(/** @type {number[]} */ sorted, /** @type {number} */ q) {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

/**
 * @typedef {(repo: string, root: string, n: number, tag: string) => Promise<T>} Scenario
 *   `n` creations at once in `repo`, worktrees under `root`, branches named after `tag`
 * @template T
 */

/** N plain `git worktree add -b <branch> <path> origin/main` started at once. @type {Scenario<{ wall: number, failures: number, errors: string[], danglingBranches: number }>} */
async function plainParallel(repo, root, n, tag) {
  const started = performance.now();
  const results = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      git(repo, 'worktree', 'add', '-q', '-b', `plain/${tag}-${i}`, join(root, `${tag}-${i}`), 'origin/main').then(
        () => ({ ok: true, error: '' }),
        (/** @type {{ stderr: unknown }} */ err) => ({
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

/** The same N adds one after another. @type {Scenario<{ wall: number }>} */
async function serialised(repo, root, n, tag) {
  const started = performance.now();
  for (let i = 0; i < n; i++)
    await git(repo, 'worktree', 'add', '-q', '-b', `serial/${tag}-${i}`, join(root, `${tag}-${i}`), 'origin/main');
  return { wall: performance.now() - started };
}

/**
 * The target's bound, by hand and without any lock: the N registrations
 * (`git worktree add --no-checkout`) one after another, then the N checkouts
 * (`git reset --hard`) all at once. Issue 12: ours for N agents should be within 1.5x of
 * the slowest of those checkouts plus the N registrations.
 * @type {Scenario<{ wall: number, registrations: number, slowestCheckout: number, bound: number }>}
 */
async function registrationsThenCheckouts(repo, root, n, tag) {
  const started = performance.now();
  const paths = [];
  for (let i = 0; i < n; i++) {
    const path = join(root, `${tag}-${i}`);
    await git(repo, 'worktree', 'add', '-q', '--no-checkout', '-b', `bound/${tag}-${i}`, path, 'origin/main');
    paths.push(path);
  }
  const registrations = performance.now() - started;
  const checkouts = await Promise.all(
    paths.map(async (path) => {
      const begun = performance.now();
      await git(path, 'reset', '--hard', '--quiet', '--no-recurse-submodules');
      return performance.now() - begun;
    }),
  );
  const slowestCheckout = Math.max(...checkouts);
  return { wall: performance.now() - started, registrations, slowestCheckout, bound: registrations + slowestCheckout };
}

/** An agent process (workers/ws-create.cjs) for workspace `name`; `next()` resolves with its next stdout line. */
function startAgent(/** @type {string} */ repo, /** @type {string} */ root, /** @type {string} */ name) {
  const child = spawn(process.execPath, [WORKER, repo, root, name, 'origin/main'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => {
    const { done, value } = await lines.next();
    if (done) throw new Error(`agent ${name} exited before its next line`);
    return value;
  };
  return { child, next };
}

/**
 * N agents (already started) create at once through Workspaces.
 * @type {Scenario<{ wall: number, failures: number, errors: string[], p50: number, p99: number }>}
 */
async function ours(repo, root, n, tag) {
  const agents = Array.from({ length: n }, (_, i) => startAgent(repo, root, `${tag}-${i}`));
  await Promise.all(agents.map(async (a) => (await a.next()) === 'ready' || Promise.reject(new Error('agent not ready'))));
  const started = performance.now();
  for (const a of agents) a.child.stdin.write('go\n');
  /** @type {{ ok: boolean, ms: number, message?: string }[]} */
  const results = (await Promise.all(agents.map((a) => a.next()))).map((line) => JSON.parse(line));
  const wall = performance.now() - started;
  for (const a of agents) a.child.stdin.end();
  await Promise.all(agents.map((a) => new Promise((resolve) => a.child.on('close', resolve))));
  const ms = results.map((r) => r.ms).sort((a, b) => a - b);
  return {
    wall,
    failures: results.filter((r) => !r.ok).length,
    errors: results.filter((r) => !r.ok).map((r) => String(r.message)),
    p50: quantile(ms, 0.5),
    p99: quantile(ms, 0.99),
  };
}

/** Removes every linked worktree and the bench's branches, so the next scenario starts alike. */
async function cleanUp(/** @type {string} */ repo, /** @type {string} */ root) {
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  const locked = (await git(repo, 'worktree', 'list', '--porcelain')).stdout.split('\n\n').filter((e) => e.includes('\nlocked'));
  for (const entry of locked) await git(repo, 'worktree', 'unlock', (entry.split('\n')[0] ?? '').slice('worktree '.length)).catch(() => {});
  await git(repo, 'worktree', 'prune', '--expire=now');
  rmSync(join(repo, '.git', 'concurrent-fs', 'workspaces'), { recursive: true, force: true });
  const branches = (
    await git(
      repo,
      'for-each-ref',
      '--format=%(refname:short)',
      'refs/heads/plain',
      'refs/heads/serial',
      'refs/heads/bound',
      'refs/heads/agent',
    )
  ).stdout
    .split('\n')
    .filter(Boolean);
  if (branches.length) await git(repo, 'branch', '-q', '-D', ...branches);
  // The next scenario must not pay for this one's writeback (hundreds of thousands of
  // files written and deleted): flush it now.
  await run('sync', []);
}

/** ms from an owner's SIGKILL to a successful acquire() of its workspace, `times` times. */
async function killToReusable(/** @type {string} */ repo, /** @type {string} */ root, /** @type {number} */ times) {
  /** @type {import('../lib/types.d.mts').NativeLib} */
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
 * @typedef {object} WorkspacesOptions
 * @property {number[]} [counts] agents at once for the failure counts
 * @property {number[]} [timingCounts] agents at once for the wall times
 * @property {number} [failureRounds] rounds of each failure count
 * @property {number} [smallFiles] files of the repository of the failure counts
 * @property {number} [bigFiles] files of the repository of the wall times
 * @property {number} [killTimes] SIGKILLs of an owner
 * @property {string} [dir]
 * @property {(line: string) => void} [log]
 */

/**
 * 1. Failure counts: many rounds on a small repository (the race is in .git, not the checkout).
 * @param {string} small the repository
 * @param {string} smallRoot where the worktrees go
 * @param {{ counts: number[], failureRounds: number, log: (line: string) => void }} options
 */
async function failureCounts(small, smallRoot, { counts, failureRounds, log }) {
  const rows = [];
  for (const n of counts) {
    const row = { n, rounds: failureRounds, plain: 0, plainDangling: 0, ours: 0, errors: /** @type {string[]} */ ([]) };
    const errors = new Set();
    for (let r = 0; r < failureRounds; r++) {
      const plain = await plainParallel(small, smallRoot, n, `p${n}r${r}`);
      row.plain += plain.failures;
      row.plainDangling += plain.danglingBranches;
      for (const e of plain.errors) errors.add(e);
      await cleanUp(small, smallRoot);
      row.ours += (await ours(small, smallRoot, n, `o${n}r${r}`)).failures;
      await cleanUp(small, smallRoot);
    }
    row.errors = [...errors];
    log(
      `workspaces: N=${n} x ${failureRounds} rounds: plain git ${row.plain}/${n * failureRounds} failed (${row.plainDangling} dangling branches), ours ${row.ours}/${n * failureRounds}`,
    );
    rows.push(row);
  }
  return rows;
}

/**
 * 2. Wall times on a big repository: plain parallel, serialised, ours. Nothing is
 * deleted between the scenarios (deleting N x 20k files slowed whichever scenario came
 * next by several times on this VM); each gets a root of its own, writeback is flushed
 * before each, and the order turns with N so that no kind always follows the same one.
 * @param {string} base
 * @param {{ timingCounts: number[], bigFiles: number, log: (line: string) => void }} options
 */
async function wallTimes(base, { timingCounts, bigFiles, log }) {
  const big = await generateRepo(join(base, 'big'), bigFiles);
  const rootOf = (/** @type {string} */ tag) => join(base, 'big', tag);
  await run('sync', []);
  const single = await serialised(big, rootOf('single'), 1, 'single');
  const rows = [];
  for (const [index, n] of timingCounts.entries()) {
    const order = /** @type {('plain' | 'serialised' | 'bound' | 'ours')[]} */ (['plain', 'serialised', 'bound', 'ours']);
    for (let turn = 0; turn < index % order.length; turn++) order.push(/** @type {typeof order[number]} */ (order.shift()));
    /** @type {Awaited<ReturnType<typeof plainParallel>> | undefined} */
    let plain;
    /** @type {number | undefined} */
    let serial;
    /** @type {Awaited<ReturnType<typeof registrationsThenCheckouts>> | undefined} */
    let bound;
    /** @type {Awaited<ReturnType<typeof ours>> | undefined} */
    let mine;
    for (const kind of order) {
      await run('sync', []);
      if (kind === 'plain') plain = await plainParallel(big, rootOf(`p${n}`), n, `p${n}`);
      else if (kind === 'serialised') serial = (await serialised(big, rootOf(`s${n}`), n, `s${n}`)).wall;
      else if (kind === 'bound') bound = await registrationsThenCheckouts(big, rootOf(`b${n}`), n, `b${n}`);
      else mine = await ours(big, rootOf(`o${n}`), n, `o${n}`);
    }
    if (!plain || serial === undefined || !bound || !mine) throw new Error(`workspaces: N=${n}: a scenario did not run (order ${order})`);
    const row = {
      n,
      files: bigFiles,
      order,
      singleAdd: single.wall,
      plain,
      serialised: serial,
      bound,
      ours: mine,
      oursOverBound: mine.wall / bound.bound,
    };
    log(
      `workspaces: N=${n}, ${bigFiles} files (order ${order.join(', ')}): plain parallel ${plain.failures} failed, ${plain.wall.toFixed(0)} ms; serialised ${serial.toFixed(0)} ms; ours ${mine.failures} failed, ${mine.wall.toFixed(0)} ms (create p50 ${mine.p50.toFixed(0)}, p99 ${mine.p99.toFixed(0)} ms); one add alone ${single.wall.toFixed(0)} ms; bound ${bound.bound.toFixed(0)} ms (${n} registrations ${bound.registrations.toFixed(0)} + slowest of ${n} checkouts at once ${bound.slowestCheckout.toFixed(0)}): ours ${row.oursOverBound.toFixed(2)}x of it (target <= 1.5x)`,
    );
    rows.push(row);
  }
  return rows;
}

/** The section: failure counts, wall times, SIGKILL to acquire. @param {WorkspacesOptions} [options] */
export function runWorkspaces({
  counts = [4, 8, 16],
  timingCounts = counts,
  failureRounds = 5,
  smallFiles = 200,
  bigFiles = 20_000,
  killTimes = 5,
  dir = tmpdir(),
  log = console.error,
} = {}) {
  return inScratchDir(dir, 'cfs-bench-ws-', async (base) => {
    const small = await generateRepo(join(base, 'small'), smallFiles);
    const smallRoot = join(base, 'small', 'wt');
    const failures = await failureCounts(small, smallRoot, { counts, failureRounds, log });
    const timing = await wallTimes(base, { timingCounts, bigFiles, log });
    // 3. SIGKILL of an owner -> acquire() resolved.
    const samples = await killToReusable(small, smallRoot, killTimes);
    const killed = { p50: quantile(samples, 0.5), max: samples.at(-1) ?? Number.NaN, samples };
    log(`workspaces: SIGKILL -> acquire: p50 ${killed.p50.toFixed(1)} ms, max ${killed.max.toFixed(1)} ms`);
    return { failures, timing, killToReusable: killed };
  });
}
