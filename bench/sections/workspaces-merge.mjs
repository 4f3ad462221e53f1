// @ts-check
// Workspaces, the merge queue: N branches merged into main at once from N processes,
// the library's mergeBranch side by side with what people do without it. Every round
// runs on a fresh repository and is checked afterwards: each branch that reports
// "merged" must be in main's history exactly once, or the run throws.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { best, median } from '../lib/measure.mjs';
import { inScratchDir } from '../lib/scratch.mjs';
import { runTogether } from '../lib/workers.mjs';

const WORKER = new URL('../workers/merger.cjs', import.meta.url).pathname;

/**
 * @typedef {{ kind: 'queue' | 'cas' | 'checkout', name: string, checkout: boolean, check?: string[] }} MergeKind
 * @typedef {{ start: number, end: number, attempts: number, merged: boolean, error?: string }} MergerOutput
 *   what a merger process prints
 * @typedef {Awaited<ReturnType<typeof mergeRound>>} MergeRound
 */

/** @type {MergeKind[]} */
export const MERGE_KINDS = [
  { kind: 'queue', name: 'mergeBranch (queue lock, merge-tree, update-ref CAS)', checkout: false },
  { kind: 'queue', name: "mergeBranch with check ['true'] (scratch worktree each)", checkout: false, check: ['true'] },
  { kind: 'queue', name: 'mergeBranch, main checked out (fast-forwards that worktree)', checkout: true },
  { kind: 'cas', name: 'merge-tree + commit-tree + update-ref CAS, retried (no lock)', checkout: false },
  { kind: 'checkout', name: 'git merge in the shared main checkout, at once (no retry)', checkout: true },
];

const ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Bench',
  GIT_AUTHOR_EMAIL: 'bench@example.com',
  GIT_COMMITTER_NAME: 'Bench',
  GIT_COMMITTER_EMAIL: 'bench@example.com',
  LC_ALL: 'C',
};

function git(/** @type {string} */ cwd, /** @type {string[]} */ ...args) {
  const out = spawnSync('git', args, { cwd, env: ENV, encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`git ${args.join(' ')}: ${out.stderr}`);
  return out.stdout.trim();
}

/** A repository with `branches` branches, each one commit (its own file) on the initial main. */
function makeRepo(/** @type {string} */ root, /** @type {number} */ branches, /** @type {boolean} */ checkout) {
  const repo = join(root, 'repo');
  git(root, 'init', '-q', '-b', 'main', repo);
  git(repo, 'config', 'user.name', 'Bench');
  git(repo, 'config', 'user.email', 'bench@example.com');
  writeFileSync(join(repo, 'README.md'), 'bench\n');
  git(repo, 'add', 'README.md');
  git(repo, 'commit', '-q', '-m', 'initial');
  const tips = [];
  for (let i = 0; i < branches; i++) {
    const path = join(root, `agent-${i}`);
    git(repo, 'worktree', 'add', '-q', '-b', `agent/${i}`, path, 'main');
    writeFileSync(join(path, `agent-${i}.txt`), `agent ${i}\n`);
    git(path, 'add', '.');
    git(path, 'commit', '-q', '-m', `agent ${i}`);
    tips.push(git(path, 'rev-parse', 'HEAD'));
  }
  if (!checkout) git(repo, 'checkout', '-q', '--detach');
  return { repo, tips };
}

/** How often `tip` is a merged-in parent in main's history. */
function timesMerged(/** @type {string} */ repo, /** @type {string} */ tip) {
  return git(repo, 'rev-list', '--merges', '--parents', 'main')
    .split('\n')
    .filter((line) => line.split(' ').slice(2).includes(tip)).length;
}

/** One round: `branches` processes of `spec` at once on a fresh repository. */
function mergeRound(/** @type {MergeKind} */ spec, /** @type {number} */ branches, /** @type {string} */ dir) {
  return inScratchDir(dir, 'cfs-bench-merge-', async (root) => {
    const { repo, tips } = makeRepo(root, branches, spec.checkout);
    const check = spec.check ? [JSON.stringify(spec.check)] : [];
    /** @type {MergerOutput[]} */
    const results = await runTogether(WORKER, (i) => [spec.kind, repo, `agent/${i}`, ...check], tips.length);
    const seconds = (Math.max(...results.map((r) => r.end)) - Math.min(...results.map((r) => r.start))) / 1000;
    const merged = results.filter((r) => r.merged).length;
    results.forEach((r, i) => {
      const times = timesMerged(repo, tips[i] ?? '');
      if (times !== (r.merged ? 1 : 0))
        throw new Error(`${spec.name}: agent/${i} reported merged=${r.merged} but is in main ${times} times`);
    });
    const attempts = results.map((r) => r.attempts);
    const errors = [...new Set(results.filter((r) => r.error).map((r) => r.error))];
    return {
      seconds,
      merged,
      failed: branches - merged,
      attempts: attempts.reduce((a, b) => a + b, 0),
      maxAttempts: Math.max(...attempts),
      errors,
    };
  });
}

/** conflicts() over `branches` live branches: N(N-1)/2 merge-trees. */
function conflictsTime(/** @type {number} */ branches, /** @type {string} */ dir) {
  const require = createRequire(import.meta.url);
  /** @type {import('../lib/types.d.mts').NativeLib} */
  const { withLock } = require('../../dist/native.js');
  /** @type {typeof import('../../dist/workspaces/repo.js')} */
  const { openRepo } = require('../../dist/workspaces/repo.js');
  /** @type {typeof import('../../dist/workspaces/conflicts.js')} */
  const { findConflicts } = require('../../dist/workspaces/conflicts.js');
  return inScratchDir(dir, 'cfs-bench-conflicts-', async (root) => {
    const { repo } = makeRepo(root, branches, false);
    const ctx = await openRepo(repo, { withLock, lockTimeout: 60_000 });
    const list = Array.from({ length: branches }, (_, i) => ({ name: `${i}`, branch: `agent/${i}` }));
    const started = performance.now();
    const found = await findConflicts(ctx, list);
    return { ms: performance.now() - started, pairs: (branches * (branches - 1)) / 2, conflicts: found.length };
  });
}

/**
 * Every kind `rounds` times (alternating order) with `branches` merging processes;
 * per kind: best and median merges/s, attempts per merge, failures.
 */
export async function runWorkspacesMerge(
  /** @type {{ branches?: number, rounds?: number, dir: string, log?: (line: string) => void }} */ config,
) {
  const { branches = 8, rounds = 3, dir, log = () => {} } = config;
  const runs = MERGE_KINDS.map((spec) => ({ spec, rs: /** @type {MergeRound[]} */ ([]) }));
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? runs : [...runs].reverse();
    for (const { spec, rs } of order) {
      const r = await mergeRound(spec, branches, dir);
      rs.push(r);
      log(
        `  merge ${spec.name}: ${r.merged}/${branches} merged in ${(r.seconds * 1000).toFixed(0)} ms, ` +
          `${r.attempts} attempts${r.errors.length ? `, errors: ${r.errors.join('; ')}` : ''} (round ${round + 1}/${rounds})`,
      );
    }
  }
  const rows = runs.map(({ spec, rs }) => {
    const rates = rs.map((r) => r.merged / r.seconds);
    const merged = rs.reduce((s, r) => s + r.merged, 0);
    const attempts = rs.reduce((s, r) => s + r.attempts, 0);
    return {
      name: spec.name,
      kind: spec.kind,
      branches,
      rounds,
      mergesPerSecond: { best: best(rates), median: median(rates) },
      attemptsPerMerge: merged === 0 ? null : attempts / merged,
      maxAttemptsOneMerge: Math.max(...rs.map((r) => r.maxAttempts)),
      failed: rs.reduce((s, r) => s + r.failed, 0),
      merged,
      errors: [...new Set(rs.flatMap((r) => r.errors))],
      roundSeconds: rs.map((r) => r.seconds),
    };
  });
  const conflicts = await conflictsTime(branches, dir);
  log(`  conflicts() over ${branches} branches: ${conflicts.pairs} pairs in ${conflicts.ms.toFixed(0)} ms`);
  return { rows, conflicts };
}
