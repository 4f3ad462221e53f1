// @ts-check
// The benchmark suite (issue 6): every hot path, native vs the pure-JS fallback vs the
// peers, side by side in one run. Prints tables, writes bench/results/latest.json and
// the README's "Performance" table, and evaluates the issue's targets on this run.
//
//   npm run bench                      full run (about 10 min; wants a quiet machine)
//   npm run bench -- --quick           short run to check the suite works
//   npm run bench -- --only=ids,locks  some sections (ids, writes, locks, counter, store, memory, tasks, events)
//   npm run bench -- --dir=/some/dir   where the files go (default: the OS temp dir)
//   node bench/index.mjs --from=bench/results/latest.json
//                                      report a saved run again (tables, targets, README)
//                                      after a change to the report or the notes; measures nothing
//   node bench/index.mjs --from=bench/results/latest.json --merge=bench/results/partial.json
//                                      the same, with the sections of a later partial run in
//                                      place of the saved ones (the report says which, and when)
//
// Only a complete full run writes the README; others write bench/results/<quick|partial>.json.
// A run of every section (full or --quick) then runs the two suites that keep their own
// report, each in its own process: bench/workspaces.mjs (git worktrees per agent) and
// bench/etcd.mjs (which skips itself, with the reason, when etcd is not installed).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { machine } from './lib/machine.mjs';
import { markdown, printTables, updateReadme } from './lib/report.mjs';
import { withRowIds } from './lib/row-ids.mjs';
import { evaluateTargets } from './lib/targets.mjs';
import { runEvents } from './sections/events.mjs';
import { runIds } from './sections/ids.mjs';
import { runLocks } from './sections/locks.mjs';
import { runMemory, summarize } from './sections/memory.mjs';
import { COUNTER_KINDS, runProcesses, STORE_KINDS } from './sections/processes.mjs';
import { runTasks } from './sections/tasks.mjs';
import { runWrites } from './sections/writes.mjs';

/**
 * @typedef {import('./lib/types.d.mts').Config} Config
 * @typedef {import('./lib/types.d.mts').Libs} Libs
 * @typedef {import('./lib/types.d.mts').Results} Results
 * @typedef {import('./lib/types.d.mts').Run} Run
 * @typedef {import('./lib/types.d.mts').Section} Section
 * @typedef {{ quick: boolean, only: string[], dir: string, from: string | undefined, merge: string | undefined }} Args
 */

/** @type {Section[]} */
const SECTIONS = ['ids', 'writes', 'locks', 'counter', 'store', 'memory', 'tasks', 'events'];

/** @returns {Args} */
function parseArgs(/** @type {string[]} */ argv) {
  /** @type {Args} */
  const args = { quick: false, only: SECTIONS, dir: tmpdir(), from: undefined, merge: undefined };
  for (const arg of argv) {
    if (arg === '--quick') args.quick = true;
    else if (arg.startsWith('--only=')) args.only = arg.slice(7).split(',');
    else if (arg.startsWith('--dir=')) args.dir = arg.slice(6);
    else if (arg.startsWith('--from=')) args.from = arg.slice(7);
    else if (arg.startsWith('--merge=')) args.merge = arg.slice(8);
    else throw new Error(`unknown argument ${arg} (use --quick, --only=${SECTIONS.join(',')}, --dir=PATH, --from=FILE, --merge=FILE)`);
  }
  if (args.merge && !args.from) throw new Error('--merge needs --from (the run to merge into)');
  for (const s of args.only) if (!SECTIONS.includes(/** @type {Section} */ (s))) throw new Error(`unknown section ${s}`);
  return args;
}

/** How long and how much each section measures: a full run, or a short one (`--quick`). @returns {Config} */
function configFor(/** @type {Args} */ args) {
  const { quick } = args;
  return {
    ...(quick
      ? { time: 100, warmupTime: 30, rounds: 1, burst: 100_000, memoryOps: 100_000 }
      : { time: 700, warmupTime: 150, rounds: 3, burst: 1_000_000, memoryOps: 1_000_000 }),
    dir: args.dir,
    log: (line) => console.error(line),
    // Writes are the most disturbed by other work (its fsyncs queue behind theirs): more,
    // shorter rounds, so one burst of it spoils fewer of them.
    writeTiming: quick ? {} : { time: 400, warmupTime: 100, rounds: 5 },
    contention: { processes: 4, iterations: quick ? 100 : 500, rounds: quick ? 1 : 3, durabilities: ['full', 'none'] },
    // Issue 13: a queue of `tasks` drained by 1, 8 and 32 workers; appends per run (none;
    // data, full and the raw flush loop), split among the processes; a paced tail.
    taskQueue: { tasks: quick ? 300 : 2000, rounds: quick ? 1 : 3 },
    events: {
      counts: quick ? { none: 4000, flushed: 200, batched: 4000 } : { none: 40_000, flushed: 1600, batched: 64_000 },
      tail: { count: quick ? 50 : 300, paceMs: 5, durability: 'data' },
      rounds: quick ? 1 : 3,
    },
  };
}

/** What runs each section. @returns {Record<Section, () => Promise<unknown> | unknown>} */
function sectionRunners(/** @type {Config} */ config) {
  const require = createRequire(import.meta.url);
  /** @type {Libs} */
  const cfs = { native: require('../dist/native.js'), js: require('../dist/js.js') };
  return {
    ids: () => runIds(cfs, config),
    writes: () => runWrites(cfs, config),
    locks: () => runLocks(cfs, config),
    counter: () => runProcesses(COUNTER_KINDS, config, 'counter'),
    store: () => runProcesses(STORE_KINDS, config, 'store'),
    memory: () => runMemory(config),
    tasks: () => runTasks(config),
    events: () => runEvents(config),
  };
}

/** Runs the chosen sections in their order. @returns {Promise<{ run: Run, results: Results }>} */
async function measureAll(/** @type {Args} */ args) {
  const config = configFor(args);
  const m = machine(args.dir);
  console.error(`bench: ${m.cpu} x ${m.cores}, Node ${m.node}, ${args.dir} on ${m.filesystem.type}`);
  console.error(`load average ${m.loadAverageAtStart.map((x) => x.toFixed(2)).join(' ')}`);
  const runners = sectionRunners(config);
  /** @type {Record<string, unknown>} */
  const results = {};
  // The 1-minute load average as each section starts and at the end: other work on the
  // machine during the run shows here.
  const load = [];
  const started = performance.now();
  for (const section of SECTIONS.filter((s) => args.only.includes(s))) {
    load.push({ at: section, load1: loadavg()[0] ?? 0 });
    results[section] = await runners[section]();
  }
  const seconds = (performance.now() - started) / 1000;
  const loadAverageAtEnd = loadavg();
  load.push({ at: 'end', load1: loadAverageAtEnd[0] ?? 0 });
  const { log: _log, ...settings } = config;
  /** @type {Run} */
  const run = { machine: m, config: { ...settings, quick: args.quick, sections: args.only }, load, seconds, loadAverageAtEnd };
  return { run, results: /** @type {Results} */ (results) };
}

/**
 * A saved run, its derived figures recomputed from the raw ones (so report changes apply)
 * and rows saved before they had ids given theirs.
 * @returns {{ run: Run, results: Results }}
 */
function loadRun(/** @type {string} */ file) {
  const { results, targets: _old, ...run } = JSON.parse(readFileSync(file, 'utf8'));
  if (results.memory) {
    results.memory = results.memory.map((/** @type {any} */ { rssSecondHalfGrowthMiB: _gone, ...probe }) => summarize(probe));
  }
  run.reportedAgain = new Date().toISOString();
  return { run, results: withRowIds(results) };
}

/**
 * `run` with the sections of a later partial run (`file`) in place of its own, each noted
 * in `run.remeasured` (when, at which commit, the load, that run's config) so the report
 * can say so.
 */
function mergeRun(/** @type {{ run: Run, results: Results }} */ { run, results }, /** @type {string} */ file) {
  const later = loadRun(file);
  const merged = /** @type {Record<string, unknown>} */ ({ ...results });
  const remeasured = (run.remeasured ?? []).filter((r) => !later.run.config.sections.includes(r.section));
  for (const section of later.run.config.sections) {
    merged[section] = /** @type {Record<string, unknown>} */ (later.results)[section];
    const load1 = later.run.load.find((l) => l.at === section)?.load1 ?? 0;
    remeasured.push({
      section,
      date: later.run.machine.date,
      commit: later.run.machine.commit,
      load1,
      seconds: later.run.seconds,
      config: later.run.config,
    });
  }
  return { run: { ...run, remeasured }, results: /** @type {Results} */ (merged) };
}

/** Prints the run, writes its JSON and, after a complete full run, the README's Performance section. */
function report(/** @type {Args} */ args, /** @type {Run} */ run, /** @type {Results} */ results) {
  const targets = evaluateTargets(results);
  printTables(results, targets);
  const complete = !run.config.quick && SECTIONS.every((s) => run.config.sections.includes(s));
  const resultsDir = new URL('./results/', import.meta.url);
  mkdirSync(resultsDir, { recursive: true });
  const jsonName = complete ? 'latest.json' : run.config.quick ? 'quick.json' : 'partial.json';
  writeFileSync(new URL(jsonName, resultsDir), `${JSON.stringify({ ...run, results, targets }, null, 2)}\n`);
  console.error(`\nwrote bench/results/${jsonName} (${args.from ? 'reported again' : `${run.seconds.toFixed(0)} s`})`);
  if (complete) {
    updateReadme(new URL('../README.md', import.meta.url), markdown(run, results, targets));
    console.error('wrote the Performance section of README.md');
  } else {
    console.error('README.md left alone: only a complete full run writes it');
  }
}

/** Runs the suites with their own report (see the top), with this run's --quick and --dir. */
function runStandaloneSuites(/** @type {Args} */ args) {
  const flags = [...(args.quick ? ['--quick'] : []), `--dir=${args.dir}`];
  /** @type {Array<{ script: string, suiteFlags: string[] }>} */
  const suites = [
    { script: 'workspaces.mjs', suiteFlags: flags },
    { script: 'etcd.mjs', suiteFlags: args.quick ? ['--quick'] : [] },
  ];
  for (const { script, suiteFlags } of suites) {
    console.error(`\n== bench/${script} ${suiteFlags.join(' ')}`);
    const { status } = spawnSync(process.execPath, [new URL(script, import.meta.url).pathname, ...suiteFlags], { stdio: 'inherit' });
    if (status !== 0) process.exitCode = 1;
  }
}

const args = parseArgs(process.argv.slice(2));
const saved = args.from ? loadRun(args.from) : undefined;
const { run, results } = saved ? (args.merge ? mergeRun(saved, args.merge) : saved) : await measureAll(args);
report(args, run, results);
if (!args.from && SECTIONS.every((s) => args.only.includes(s))) runStandaloneSuites(args);
