// @ts-check
// The merge-queue bench on its own (a part of the "workspaces" section of issue 12):
//
//   npm run build && node bench/workspaces-merge.mjs [--quick] [--branches=8] [--dir=/some/dir]
//
// Prints a table and writes bench/results/workspaces-merge.json (quick runs: nothing).
// See sections/workspaces-merge.mjs for what each row is.
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { machine } from './lib/machine.mjs';
import { runWorkspacesMerge } from './sections/workspaces-merge.mjs';

const args = { quick: false, branches: 8, dir: tmpdir() };
for (const arg of process.argv.slice(2)) {
  if (arg === '--quick') args.quick = true;
  else if (arg.startsWith('--branches=')) args.branches = Number(arg.slice(11));
  else if (arg.startsWith('--dir=')) args.dir = arg.slice(6);
  else throw new Error(`unknown argument ${arg} (use --quick, --branches=N, --dir=PATH)`);
}

/** @type {{ machine: import('./lib/types.d.mts').Machine, loadAverageAtStart: number[], loadAverageAtEnd?: number[] }} */
const run = { machine: machine(args.dir), loadAverageAtStart: loadavg() };
console.error(`bench: ${run.machine.cpu} x ${run.machine.cores}, Node ${run.machine.node}, load ${run.loadAverageAtStart[0]?.toFixed(2)}`);
const results = await runWorkspacesMerge({
  branches: args.branches,
  rounds: args.quick ? 1 : 5,
  dir: args.dir,
  log: (/** @type {string} */ l) => console.error(l),
});
run.loadAverageAtEnd = loadavg();

const pad = (/** @type {unknown} */ text, /** @type {number} */ width) => String(text).padEnd(width);
console.log(`\n${args.branches} branches merged into main at once, from ${args.branches} processes (best / median round):\n`);
console.log(`${pad('', 62)} ${pad('merges/s', 16)} ${pad('attempts/merge', 15)} ${pad('max', 4)} failed`);
for (const r of results.rows) {
  const rate = `${r.mergesPerSecond.best.toFixed(1)} / ${r.mergesPerSecond.median.toFixed(1)}`;
  const attempts = r.attemptsPerMerge === null ? '-' : r.attemptsPerMerge.toFixed(2);
  console.log(
    `${pad(r.name, 62)} ${pad(rate, 16)} ${pad(attempts, 15)} ${pad(r.maxAttemptsOneMerge, 4)} ${r.failed}/${r.branches * r.rounds}`,
  );
  if (r.errors.length) console.log(`${pad('', 62)} errors: ${r.errors.join('; ')}`);
}
const c = results.conflicts;
console.log(`\nconflicts() over ${args.branches} branches: ${c.pairs} merge-trees in ${c.ms.toFixed(0)} ms`);

if (args.quick) {
  console.error('quick run: nothing written');
} else {
  const dir = new URL('./results/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  writeFileSync(new URL('workspaces-merge.json', dir), `${JSON.stringify({ ...run, config: args, results }, null, 2)}\n`);
  console.error('wrote bench/results/workspaces-merge.json');
}
