// One merger of the merge bench: `node merger.cjs <kind> <repo> <branch> [check]`.
// Prints `ready`, waits for a line on stdin, merges `branch` into main once (retrying
// only where the kind does), prints `{ start, end, attempts, merged, error }` and exits.
//
// Kinds:
//   queue     mergeBranch (the library's merge queue): one attempt by construction
//   cas       merge-tree + commit-tree + update-ref NEW OLD, retried until the CAS holds
//             (the "E7" loop of docs: what a careful tool without a lock does)
//   checkout  `git merge --no-ff --no-edit` in the shared main checkout, no retry (E6)
'use strict';
const [kind, repo, branch, check] = process.argv.slice(2);
const { withLock } = require('../../dist/native.js');
const { runGit } = require('../../dist/workspaces/git.js');
const { openRepo } = require('../../dist/workspaces/repo.js');
const { mergeBranch } = require('../../dist/workspaces/merge.js');

const git = (args, options = {}) => runGit(args, { cwd: repo, ...options });

async function queue() {
  const ctx = await openRepo(repo, { withLock, lockTimeout: 120_000 });
  const result = await mergeBranch(ctx, { branch, into: 'main', ...(check ? { check: JSON.parse(check) } : {}) });
  return { attempts: 1, merged: result.status === 'merged', error: result.status === 'merged' ? undefined : result.status };
}

async function cas() {
  for (let attempts = 1; ; attempts++) {
    const old = (await git(['rev-parse', 'refs/heads/main'])).stdout.trim();
    const tree = await git(['merge-tree', '--write-tree', old, branch], { allowFailure: true });
    if (tree.exitCode !== 0) return { attempts, merged: false, error: 'conflict' };
    const message = `Merge branch '${branch}' into main\n`;
    const args = ['commit-tree', tree.stdout.split('\n')[0], '-p', old, '-p', branch, '-F', '-'];
    const commit = (await git(args, { input: message })).stdout.trim();
    const moved = await git(['update-ref', 'refs/heads/main', commit, old], { allowFailure: true });
    if (moved.exitCode === 0) return { attempts, merged: true };
  }
}

async function checkout() {
  const out = await git(['merge', '--no-ff', '--no-edit', '--quiet', branch], { allowFailure: true });
  // The first line of what git said, without this round's temp path.
  const said =
    out.stderr
      .trim()
      .split('\n')
      .find((l) => /^(fatal|error)/.test(l)) ?? out.stderr.trim();
  const error = out.exitCode === 0 ? undefined : said.replaceAll(repo, '<repo>');
  return { attempts: 1, merged: out.exitCode === 0, error };
}

async function main() {
  const run = { queue, cas, checkout }[kind];
  if (!run) throw new Error(`unknown kind ${kind}`);
  if (kind === 'queue') await openRepo(repo, { withLock, lockTimeout: 120_000 }); // warm: the version check, module loading
  process.stdout.write('ready\n');
  await new Promise((resolve) => process.stdin.once('data', resolve));
  const start = performance.timeOrigin + performance.now();
  const outcome = await run();
  const end = performance.timeOrigin + performance.now();
  process.stdout.write(`${JSON.stringify({ start, end, ...outcome })}\n`);
  process.stdin.destroy();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
