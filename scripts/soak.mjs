// `npm run soak -- --minutes N [--impl native|js] [--workers 8]`: mixed load from many
// processes with random SIGKILLs, checking the invariants as it goes and at the end,
// and reporting descriptor count and RSS over time of the workers that are never killed
// (they must stay flat). Exits 1 on any invariant violation. Not part of CI: it runs as
// long as it is told to.
//
// Half the workers are steady (run the whole time); the other half are mortal: every
// 0.2-2 s one of them is SIGKILLed mid-work and replaced. Invariants:
// - the store documents always parse, never hold a token twice, and hold every append
//   acknowledged before they were read (checked every 5 s and at the end);
// - the lock-guarded counter ends at the increments acknowledged, plus at most one per
//   kill (an increment written just before its ack line was lost with the process);
// - no worker saw a torn blob or a Snowflake ID out of order.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
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
    workers: { type: 'string', default: '8' },
  },
});
const minutes = Number(values.minutes);
const impl = values.impl;
const workerCount = Number(values.workers);
const cfs = createRequire(import.meta.url)(impl === 'js' ? '../dist/js.js' : '../dist/native.js');

const dir = mkdtempSync(join(tmpdir(), 'cfs-soak-'));
const acked = new Set();
const tried = new Set();
const violations = [];
const stats = new Map(); // steady worker -> [{ t, ops, fds, rss }]
let increments = 0;
let kills = 0;
let spawned = 0;
const started = Date.now();
const live = new Map();

function start(name, steady) {
  spawned++;
  const child = spawn(process.execPath, [join(here, 'soak-worker.cjs'), impl, dir, name], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  createInterface({ input: child.stdout }).on('line', (line) => {
    const [kind, ...rest] = line.split(' ');
    if (kind === 'try') tried.add(rest[0]);
    else if (kind === 'ack') acked.add(rest[0]);
    else if (kind === 'inc') increments++;
    else if (kind === 'viol') violations.push(`${name}: ${rest.join(' ')}`);
    else if (kind === 'stat' && steady) {
      const [ops, fds, rss, heap] = rest.map(Number);
      if (!stats.has(name)) stats.set(name, []);
      stats.get(name).push({ t: (Date.now() - started) / 1000, ops, fds, rss, heap });
    }
  });
  const exited = new Promise((resolve) =>
    child.on('close', (code, signal) => {
      if (code !== 0 && signal !== 'SIGKILL') violations.push(`${name} exited ${code ?? signal}: ${stderr.slice(0, 500)}`);
      resolve();
    }),
  );
  live.set(name, { child, steady, exited });
}

/** The store documents' check: each parses, no token twice, every token acked before the read is there. */
function checkStore(final) {
  const ackedBefore = new Set(acked);
  const storeDir = join(dir, 'store');
  const seen = new Set();
  let names = [];
  try {
    names = readdirSync(storeDir).filter((n) => n.startsWith('log-') && n.endsWith('.json'));
  } catch {}
  for (const name of names) {
    let tokens;
    try {
      tokens = JSON.parse(readFileSync(join(storeDir, name), 'utf8')).tokens;
    } catch (err) {
      violations.push(`${name} unreadable: ${err.message}`);
      continue;
    }
    for (const token of tokens) {
      if (seen.has(token)) violations.push(`token twice: ${token}`);
      if (!tried.has(token) && final) violations.push(`token never tried: ${token}`);
      seen.add(token);
    }
  }
  for (const token of ackedBefore) if (!seen.has(token)) violations.push(`acknowledged token lost: ${token}`);
  return seen.size;
}

const half = Math.ceil(workerCount / 2);
for (let i = 0; i < workerCount; i++) start(i < half ? `steady${i}` : `mortal${i}-0`, i < half);

const deadline = started + minutes * 60_000;
let generation = 0;
const killer = async () => {
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200 + Math.random() * 1800));
    const mortals = [...live].filter(([, w]) => !w.steady);
    if (mortals.length === 0 || Date.now() >= deadline) continue;
    const [name, worker] = mortals[Math.floor(Math.random() * mortals.length)];
    worker.child.kill('SIGKILL');
    kills++;
    await worker.exited;
    live.delete(name);
    start(`${name.split('-')[0]}-${++generation}`, false);
  }
};
const checker = setInterval(() => {
  const length = checkStore(false);
  const elapsed = ((Date.now() - started) / 1000).toFixed(0);
  console.log(
    `${elapsed}s: ${acked.size} appends acked (${length} in the log), ${increments} increments, ${kills} kills, ${violations.length} violations`,
  );
}, 5000);

await killer();
clearInterval(checker);
for (const worker of live.values()) worker.child.stdin.end();
await Promise.all([...live.values()].map((w) => w.exited));

const logLength = checkStore(true);
const counter = Number(readFileSync(join(dir, 'counter'), 'utf8'));
if (counter < increments || counter > increments + kills)
  violations.push(`counter ${counter}, increments acked ${increments}, kills ${kills}`);
// The store reads them as the API would, too: corrupt JSON would reject.
const soakStore = new cfs.ConcurrentFileStore(join(dir, 'store'));
for (const name of await soakStore.list('log-')) await soakStore.read(name);

// Each steady worker's samples at five points of the run, from 10 s (after warm-up) on.
const MiB = (bytes) => (bytes / 2 ** 20).toFixed(0);
const drift = [...stats].map(([name, samples]) => {
  const warm = samples.filter((x) => x.t >= 10);
  const points = warm.length < 5 ? warm : [0, 1, 2, 3, 4].map((k) => warm[Math.round((k * (warm.length - 1)) / 4)]);
  const trail = points.map((x) => `${x.t.toFixed(0)}s ${x.fds} fds ${MiB(x.rss)}/${MiB(x.heap)} MiB`).join(', ');
  return `${name} (${samples.at(-1).ops} ops): ${trail}`;
});
const totalOps = acked.size + increments;
console.log(`\nsoak (${impl}, ${minutes} min, ${workerCount} workers): ${spawned} processes, ${kills} kills`);
console.log(
  `appends acked ${acked.size} (log holds ${logLength}), locked increments ${increments} (counter ${counter}), store+lock ops ${totalOps}`,
);
console.log(`steady workers over time (open descriptors, RSS/V8 heap):\n  ${drift.join('\n  ')}`);
console.log(`invariant violations: ${violations.length}`);
for (const v of violations.slice(0, 20)) console.log(`  ${v}`);
rmSync(dir, { recursive: true, force: true });
process.exit(violations.length === 0 ? 0 : 1);
