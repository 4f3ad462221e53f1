// `npm run soak:workspaces -- --minutes N [--impl native|js] [--agents 4]`: agents (real
// processes, scripts/soak-ws-agent.cjs) loop create, commit, merge into main, remove on one
// real git repository, while half of them are SIGKILLed at random moments (the process
// alone, or its whole process group with the git it runs) and replaced, and this process
// runs `reclaim()` every few seconds beside the live ones. Exits 1 on any violation. Not
// part of CI: it runs as long as it is told to.
//
// Checked as it runs: every acknowledged merge is in main's history; no live agent's
// workspace is harmed by reclaim (an agent reports any failure it meets). Checked at the
// end, after a last reclaim with every agent gone: `git worktree list` agrees with the
// library's records; no `locked: initializing`, no `index.lock`; every acknowledged commit
// is reachable from a ref; every acknowledged merge's file is in main exactly once; each
// killed agent's last workspace name can be created again.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '1' },
    impl: { type: 'string', default: 'native' },
    agents: { type: 'string', default: '4' },
  },
});
const minutes = Number(values.minutes);
const impl = values.impl;
const agentCount = Number(values.agents);
const { Workspaces } = createRequire(import.meta.url)(impl === 'js' ? '../dist/js.js' : '../dist/native.js');

const git = (/** @type {string} */ cwd, /** @type {string[]} */ ...args) =>
  execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } }).trim();

/** A repository with one commit on main and a bare origin. */
function makeRepo() {
  const base = mkdtempSync(join(tmpdir(), 'cfs-soak-ws-'));
  const repo = join(base, 'repo');
  mkdirSync(repo);
  git(repo, 'init', '-q', '-b', 'main');
  git(repo, 'config', 'user.name', 'soak');
  git(repo, 'config', 'user.email', 'soak@example.com');
  writeFileSync(join(repo, 'README'), 'soak\n');
  git(repo, 'add', '.');
  git(repo, 'commit', '-q', '-m', 'initial');
  git(base, 'clone', '-q', '--bare', repo, join(base, 'origin.git'));
  git(repo, 'remote', 'add', 'origin', join(base, 'origin.git'));
  git(repo, 'fetch', '-q', 'origin');
  return { base, repo };
}

const { base, repo } = makeRepo();
const committed = new Map(); // sha -> workspace
const merged = new Map(); // workspace -> sha
const violations = [];
const lastOfKilled = []; // the workspace each killed agent was on
const live = new Map();
let kills = 0;
let spawned = 0;
let reclaims = 0;

function start(name, steady) {
  spawned++;
  // Detached: its own process group, so a kill can take the git it runs with it.
  const child = spawn(process.execPath, [join(here, 'soak-ws-agent.cjs'), impl, repo, name], { stdio: 'pipe', detached: true });
  const agent = { child, steady, current: undefined, exited: undefined };
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  createInterface({ input: child.stdout }).on('line', (line) => {
    const [kind, ws, sha] = line.split(' ');
    if (kind === 'created') agent.current = ws;
    else if (kind === 'committed') committed.set(sha, ws);
    else if (kind === 'merged') merged.set(ws, sha);
    else if (kind === 'viol') violations.push(line.slice(5));
  });
  agent.exited = new Promise((resolve) =>
    child.on('close', (code, signal) => {
      if (code !== 0 && signal !== 'SIGKILL') violations.push(`${name} exited ${code ?? signal}: ${stderr.slice(0, 500)}`);
      resolve(undefined);
    }),
  );
  live.set(name, agent);
}

function checkMergedInMain() {
  for (const [ws, sha] of merged) {
    try {
      git(repo, 'merge-base', '--is-ancestor', sha, 'main');
    } catch {
      violations.push(`merge of ${ws} (${sha}) acknowledged but not in main`);
      merged.delete(ws);
    }
  }
}

const wss = await Workspaces.open(repo);
const half = Math.ceil(agentCount / 2);
for (let i = 0; i < agentCount; i++) start(i < half ? `steady${i}` : `mortal${i}g0`, i < half);
const started = Date.now();
const deadline = started + minutes * 60_000;
let generation = 0;

async function killer() {
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500 + Math.random() * 2500));
    const mortals = [...live].filter(([, a]) => !a.steady);
    if (mortals.length === 0 || Date.now() >= deadline) continue;
    const [name, agent] = mortals[Math.floor(Math.random() * mortals.length)];
    const group = Math.random() < 0.5;
    process.kill(group ? -agent.child.pid : agent.child.pid, 'SIGKILL');
    kills++;
    await agent.exited;
    if (agent.current) lastOfKilled.push(agent.current);
    live.delete(name);
    start(`${name.split('g')[0]}g${++generation}`, false);
  }
}

async function reclaimer() {
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 3000));
    await wss.reclaim().catch((err) => violations.push(`reclaim beside live agents: ${err.message}`));
    reclaims++;
    checkMergedInMain();
    const elapsed = ((Date.now() - started) / 1000).toFixed(0);
    console.log(
      `${elapsed}s: ${committed.size} commits, ${merged.size} merges, ${kills} kills, ${reclaims} reclaims, ${violations.length} violations`,
    );
  }
}

await Promise.all([killer(), reclaimer()]);
for (const agent of live.values()) agent.child.stdin.end();
await Promise.all([...live.values()].map((a) => a.exited));
await wss.reclaim();
checkMergedInMain();
await finalChecks();

console.log(
  `\nsoak:workspaces (${impl}, ${minutes} min, ${agentCount} agents): ${spawned} processes, ${kills} kills, ${reclaims} reclaims`,
);
console.log(`commits acknowledged ${committed.size}, merges acknowledged ${merged.size}`);
console.log(`invariant violations: ${violations.length}`);
for (const v of violations.slice(0, 20)) console.log(`  ${v}`);
rmSync(base, { recursive: true, force: true });
process.exit(violations.length === 0 ? 0 : 1);

/** The end state, with no agent left: git and the library's records agree, nothing is lost. */
async function finalChecks() {
  const registered = git(repo, 'worktree', 'list', '--porcelain')
    .split('\n')
    .filter((l) => l.startsWith('worktree '))
    .slice(1)
    .map((l) => l.slice('worktree '.length));
  const recordsDir = join(repo, '.git', 'concurrent-fs', 'workspaces');
  const records = existsSync(recordsDir)
    ? readdirSync(recordsDir)
        .filter((f) => f.endsWith('.json'))
        .map((f) => JSON.parse(readFileSync(join(recordsDir, f), 'utf8')))
    : [];
  for (const record of records) {
    if (record.state !== 'ready' && record.state !== 'orphaned') violations.push(`record ${record.name} left '${record.state}'`);
    if (record.state === 'ready' && !registered.includes(record.path)) violations.push(`ready ${record.name} is not registered`);
  }
  for (const path of registered)
    if (!records.some((r) => r.path === path && r.state === 'ready')) violations.push(`registration ${path} has no ready record`);
  const admin = join(repo, '.git', 'worktrees');
  for (const id of existsSync(admin) ? readdirSync(admin) : []) {
    const locked = join(admin, id, 'locked');
    if (existsSync(locked) && readFileSync(locked, 'utf8').trim() === 'initializing') violations.push(`${id}: locked initializing`);
    if (existsSync(join(admin, id, 'index.lock'))) violations.push(`${id}: index.lock left`);
  }
  for (const [sha, ws] of committed)
    if (git(repo, 'for-each-ref', '--contains', sha, '--format=%(refname)') === '') violations.push(`commit ${sha} of ${ws} unreachable`);
  const files = git(repo, 'ls-tree', '--name-only', 'main').split('\n');
  for (const ws of merged.keys()) {
    const count = files.filter((f) => f === `${ws}.txt`).length;
    if (count !== 1) violations.push(`${ws}.txt is in main ${count} times`);
  }
  for (const ws of lastOfKilled.slice(-10)) await recreate(ws);
}

/** A killed agent's workspace name, once reclaimed, can be used again (then removed). */
async function recreate(ws) {
  try {
    if ((await wss.list()).some((w) => w.name === ws)) await wss.remove(ws, { discardChanges: true });
    const again = await wss.create(ws);
    await wss.remove(again.name, { discardChanges: true });
  } catch (err) {
    violations.push(`${ws} cannot be created again: ${err.message}`);
  }
}
