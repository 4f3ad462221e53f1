// @ts-check
// `node bench/etcd.mjs [--quick]` (after `npm run build`): concurrent-fs/etcd side by side
// with the etcd3 package's own primitives, on one etcd this script starts on loopback
// (free ports, data on /dev/shm, killed at the end), uncontended, one process:
//   - EtcdLock acquire + release (our recipe: 1 txn + 1 guarded txn),
//   - etcd3's own `client.lock(key).acquire()` + `release()` (lease grant + txn + revoke),
//   - the same two txns sent through etcd3's own KV client (its protobufjs codec; ours
//     has a codec of its own, ts/etcd/kv-codec.ts),
//   - two sequential raw puts and one raw put (what a cycle of 2 round trips can cost),
//   - an etcd worker-ID lease + release,
//   - Redis peers, when redis-server is installed (bench/lib/redis.mjs; three instances
//     this script starts): SET NX PX + Lua unlock on one, Redlock over three. They give
//     no fencing token and forget their locks on a restart without persistence: they
//     are here for speed, not as equals,
// with the requests per cycle counted through the coordinator, the two target ratios
// again measured in interleaved pairs of batches (robust to this VM's bursts), then the handover latency
// (release to the waiter holding, through the watch) as p50/p99, the locked counter of 4
// processes (bench/lib/etcd-child.cjs; lost updates counted), and the failure timings:
// a SIGKILLed holder to takeover, a paused server to the loss signal, a silent endpoint to
// its error (ttl 1 s, dialTimeout 1 s). `npm run bench` runs it
// after its sections; it needs the etcd binary and the optional etcd3 package, and skips
// itself with a message when either is missing.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { fmtRate, measure, median, pairedRatios, quantile, resultOf } from './lib/measure.mjs';
import { redisLock, redisMissing, redlock, startRedis } from './lib/redis.mjs';

const require = createRequire(import.meta.url);
const quick = process.argv.includes('--quick');

if (spawnSync('etcd', ['--version']).status !== 0) {
  console.log('bench/etcd: skipped, etcd is not installed (Debian: apt-get install etcd-server)');
  process.exit(0);
}
/** @type {typeof import('etcd3')} */
let etcd3;
/** @type {typeof import('../dist/etcd.js')} */
let cfsEtcd;
try {
  etcd3 = require('etcd3');
  cfsEtcd = require('../dist/etcd.js');
} catch (err) {
  console.log(`bench/etcd: skipped, ${err instanceof Error ? err.message : err}`);
  process.exit(0);
}

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function startEtcd() {
  const [client, peer] = [await freePort(), await freePort()];
  const dataDir = mkdtempSync('/dev/shm/cfs-bench-etcd-');
  const endpoint = `http://127.0.0.1:${client}`;
  const peerUrl = `http://127.0.0.1:${peer}`;
  const child = spawn(
    'etcd',
    ['--name', 'bench', '--data-dir', dataDir, '--listen-client-urls', endpoint, '--advertise-client-urls', endpoint]
      .concat(['--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl, '--initial-cluster', `bench=${peerUrl}`])
      .concat([
        '--initial-cluster-state',
        'new',
        '--heartbeat-interval',
        '10',
        '--election-timeout',
        '100',
        '--log-level',
        'warn',
        '--logger',
        'zap',
      ]),
    { stdio: 'ignore' },
  );
  for (const deadline = performance.now() + 20_000; ; ) {
    try {
      const res = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(1000) });
      if (/** @type {{ health?: string }} */ (await res.json()).health === 'true') break;
    } catch {}
    if (performance.now() > deadline) throw new Error('etcd did not become healthy in 20 s');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return {
    endpoint,
    pause: () => child.kill('SIGSTOP'),
    resume: () => child.kill('SIGCONT'),
    stop: () => {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The coordinator's count of requests sent, kept under this symbol for tests and this bench. */
const REQUESTS = Symbol.for('concurrent-fs.test.etcdRequests');
/** @param {object} coordinator */
const requestsSent = (coordinator) => /** @type {{ [REQUESTS]: number }} */ (/** @type {unknown} */ (coordinator))[REQUESTS];

async function main() {
  const server = await startEtcd();
  const raw = new etcd3.Etcd3({ hosts: [server.endpoint] });
  const coordinator = await cfsEtcd.EtcdCoordinator.connect({ endpoints: [server.endpoint], ttl: 10 });
  /** @type {(() => void)[]} */
  const stops = [];
  try {
    const ours = coordinator.lock('bench');
    const sameTxns = await etcd3LockTxns(raw);
    let n = 0;
    const tasks = [
      { name: 'EtcdLock acquire + release', fn: async () => (await ours.acquire()).release() },
      { name: "the same two txns through etcd3's KV client", fn: sameTxns },
      { name: "etcd3's Lock acquire + release", fn: async () => (await raw.lock('bench-etcd3').ttl(10).acquire()).release() },
      {
        name: 'two sequential etcd3 puts',
        fn: async () => {
          await raw.put('bench-put').value(String(n++));
          await raw.put('bench-put').value(String(n++));
        },
      },
      { name: 'one etcd3 put', fn: () => raw.put('bench-put').value(String(n++)) },
      { name: 'etcd leaseWorkerId + release', fn: async () => (await coordinator.leaseWorkerId('bench')).release() },
    ];
    const redis = redisMissing() === undefined ? await Promise.all([1, 2, 3].map(async () => startRedis(await freePort()))) : [];
    stops.push(...redis.map((r) => r.stop));
    const [first] = redis;
    if (first === undefined) console.log(`Redis peers skipped: ${redisMissing()}`);
    else
      tasks.push(
        {
          name: 'Redis SET NX PX + Lua unlock (one instance, no fencing)',
          fn: async () => (await redisLock(first.client, 'bench-redis')).release(),
        },
        {
          name: 'Redlock over 3 Redis instances (no fencing)',
          fn: async () =>
            (
              await redlock(
                redis.map((r) => r.client),
                'bench-redlock',
              )
            ).release(),
        },
      );
    const timing = quick ? { time: 300, warmupTime: 100, rounds: 1 } : { time: 2000, warmupTime: 300, rounds: 3 };
    const results = await measure(tasks, { ...timing, log: (line) => console.error(line) });

    const before = requestsSent(coordinator);
    for (let i = 0; i < 100; i++) await (await ours.acquire()).release();
    const perCycle = (requestsSent(coordinator) - before) / 100;

    const ratioPairs = quick ? { pairs: 6, batch: 20 } : { pairs: 40, batch: 50 };
    const oursCycle = /** @type {() => unknown} */ (tasks[0]?.fn);
    const versusLock = await pairedRatios(oursCycle, /** @type {() => unknown} */ (tasks[2]?.fn), ratioPairs);
    const versusPuts = await pairedRatios(oursCycle, /** @type {() => unknown} */ (tasks[3]?.fn), ratioPairs);

    const handovers = await handoverLatencies(coordinator, raw, quick ? 30 : 200);
    const sorted = [...handovers].sort((a, b) => a - b);
    const p99 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? Number.NaN;

    const rate = (/** @type {string | undefined} */ name) => resultOf(results, String(name)).rate;
    console.log('\n| operation (one process, etcd on tmpfs, loopback) | cycles/s |');
    console.log('|---|---:|');
    for (const task of tasks) console.log(`| ${task.name} | ${fmtRate(rate(task.name))} |`);
    console.log(`\nEtcdLock requests per uncontended cycle: ${perCycle}`);
    console.log(`EtcdLock / the same txns through etcd3: ${(rate(tasks[0]?.name) / rate(tasks[1]?.name)).toFixed(2)}x`);
    const paired = (/** @type {number[]} */ ratios) =>
      `paired median ${median(ratios).toFixed(2)}x (quartiles ${quantile(ratios, 0.25).toFixed(2)}-${quantile(ratios, 0.75).toFixed(2)}, ${ratios.length} pairs)`;
    console.log(
      `EtcdLock / etcd3 Lock: best rounds ${(rate(tasks[0]?.name) / rate(tasks[2]?.name)).toFixed(2)}x, ${paired(versusLock)} (target >= 2)`,
    );
    console.log(
      `EtcdLock / two sequential puts: best rounds ${(rate(tasks[0]?.name) / rate(tasks[3]?.name)).toFixed(2)}x, ${paired(versusPuts)} (target >= 0.8)`,
    );
    for (const task of tasks.slice(6)) console.log(`EtcdLock / ${task.name}: ${(rate(tasks[0]?.name) / rate(task.name)).toFixed(2)}x`);
    console.log(
      `handover (release to the waiter holding), ${handovers.length} runs: p50 ${median(handovers).toFixed(2)} ms, p99 ${p99.toFixed(2)} ms`,
    );

    const iterations = quick ? 50 : 250;
    const counted = await lockedCounter(server.endpoint, raw, iterations);
    console.log(
      `4 processes x ${iterations} locked read-increment-writes: ${fmtRate(counted.rate)}/s, ${counted.lost} lost updates (target 0)`,
    );
    const takeover = await takeoverAfterKill(server.endpoint, raw);
    const silent = await silentEndpointError();
    const loss = await lossAfterServerPause(server);
    console.log('\n| failure (ttl 1 s) | time | target |');
    console.log('|---|---:|---|');
    console.log(`| SIGKILLed holder to the waiter holding | ${takeover.toFixed(0)} ms | <= ttl + 700 ms |`);
    console.log(`| server SIGSTOP to lock.signal aborting | ${loss.toFixed(0)} ms | <= ttl + 100 ms |`);
    console.log(`| silent endpoint to CoordinatorUnavailableError (dialTimeout 1000) | ${silent.toFixed(0)} ms | about dialTimeout |`);
  } finally {
    await coordinator.close();
    raw.close();
    server.stop();
    for (const stop of stops) stop();
  }
}

const CHILD = new URL('./lib/etcd-child.cjs', import.meta.url).pathname;

/** A bench child (bench/lib/etcd-child.cjs): its JSON events in order, its stdin, its process. */
function startChild(/** @type {Record<string, unknown>} */ args) {
  const child = spawn(process.execPath, [CHILD, JSON.stringify(args)], { stdio: ['pipe', 'pipe', 'inherit'] });
  /** @type {Record<string, unknown>[]} */
  const events = [];
  /** @type {((event: Record<string, unknown>) => void)[]} */
  const waiting = [];
  const deliver = (/** @type {Record<string, unknown>} */ event) => {
    const waiter = waiting.shift();
    if (waiter) waiter(event);
    else events.push(event);
  };
  createInterface({ input: /** @type {import('node:stream').Readable} */ (child.stdout) }).on('line', (line) => deliver(JSON.parse(line)));
  child.on('exit', (code, signal) => deliver({ event: 'exit', code, signal }));
  return {
    process: child,
    send: (/** @type {string} */ line) => child.stdin?.write(`${line}\n`),
    /** The next event, which must be `name`. */
    async expect(/** @type {string} */ name) {
      const event =
        events.shift() ?? (await new Promise((/** @type {(event: Record<string, unknown>) => void} */ resolve) => waiting.push(resolve)));
      if (event.event !== name) throw new Error(`bench child: expected '${name}', got ${JSON.stringify(event)}`);
      return event;
    },
  };
}

/** 4 processes, each `iterations` times: lock, read the counter, write it + 1. Lost updates: 4 x iterations - the final count. */
async function lockedCounter(/** @type {string} */ endpoint, /** @type {import('etcd3').Etcd3} */ raw, /** @type {number} */ iterations) {
  await raw.put('bench-counter').value('0');
  const children = Array.from({ length: 4 }, () => startChild({ endpoint, mode: 'counter', iterations }));
  for (const child of children) await child.expect('ready');
  const started = performance.now();
  for (const child of children) child.send('go');
  for (const child of children) await child.expect('done');
  const seconds = (performance.now() - started) / 1000;
  const final = Number(await raw.get('bench-counter').string());
  return { rate: (4 * iterations) / seconds, lost: 4 * iterations - final };
}

/** A holder (ttl 1 s) SIGKILLed with a waiter queued: the time until the waiter holds. */
async function takeoverAfterKill(/** @type {string} */ endpoint, /** @type {import('etcd3').Etcd3} */ raw) {
  const holder = startChild({ endpoint, mode: 'hold', ttl: 1 });
  await holder.expect('locked');
  const coordinator = await cfsEtcd.EtcdCoordinator.connect({ endpoints: [endpoint], ttl: 1 });
  try {
    const waiter = coordinator.lock('takeover');
    const waiting = waiter.acquire();
    while ((await raw.getAll().prefix('cfs/lock/takeover/').count()) < 2);
    const killed = performance.now();
    holder.process.kill('SIGKILL');
    await waiting;
    const elapsed = performance.now() - killed;
    await waiter.release();
    return elapsed;
  } finally {
    await coordinator.close();
  }
}

/** A hold (ttl 1 s) on a server that is then SIGSTOPped: the time until the hold's signal aborts. */
async function lossAfterServerPause(/** @type {{ endpoint: string, pause: () => void, resume: () => void }} */ server) {
  const coordinator = await cfsEtcd.EtcdCoordinator.connect({ endpoints: [server.endpoint], ttl: 1, callTimeout: 1000 });
  const lock = coordinator.lock('paused');
  await lock.acquire();
  const paused = performance.now();
  server.pause();
  await new Promise((resolve) => lock.signal.addEventListener('abort', resolve, { once: true }));
  const elapsed = performance.now() - paused;
  server.resume();
  await coordinator.close().catch(() => undefined);
  return elapsed;
}

/** A TCP server that never answers: the time `connect` takes to reject. */
async function silentEndpointError() {
  /** @type {import('node:net').Socket[]} */
  const sockets = [];
  const silent = createServer((socket) => sockets.push(socket));
  await new Promise((resolve) => silent.listen(0, '127.0.0.1', () => resolve(undefined)));
  const { port } = /** @type {import('node:net').AddressInfo} */ (silent.address());
  const started = performance.now();
  await cfsEtcd.EtcdCoordinator.connect({ endpoints: [`http://127.0.0.1:${port}`], dialTimeout: 1000 }).then(
    () => Promise.reject(new Error('bench: a silent endpoint connected')),
    (err) => {
      if (err?.code !== 'ECOORDUNAVAIL') throw err;
    },
  );
  const elapsed = performance.now() - started;
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => silent.close(resolve));
  return elapsed;
}

/**
 * One uncontended EtcdLock cycle's two txns, built as ts/etcd/lock.ts builds them (a key
 * on a lease, the range compare, the nested queueing txn, the guarded delete), sent
 * through etcd3's `kv` client: what the lock would cost with etcd3's codec.
 */
async function etcd3LockTxns(/** @type {import('etcd3').Etcd3} */ raw) {
  const { ID: lease } = await raw.leaseClient.leaseGrant({ TTL: 60 });
  const prefix = Buffer.from('cfs/lock/bench-same-txns/');
  const prefixEnd = Buffer.from(prefix);
  prefixEnd[prefixEnd.length - 1] = /** @type {number} */ (prefixEnd[prefixEnd.length - 1]) + 1;
  const key = Buffer.concat([prefix, Buffer.from(`${BigInt(lease).toString(16)}_1`)]);
  const notCreated = (/** @type {object} */ span) => ({
    ...span,
    target: /** @type {const} */ ('Create'),
    result: /** @type {const} */ ('Equal'),
    create_revision: 0,
  });
  const put = { request_put: { key, value: Buffer.alloc(0), lease } };
  const newest = {
    key: prefix,
    range_end: prefixEnd,
    sort_target: /** @type {const} */ ('Create'),
    sort_order: /** @type {const} */ ('Descend'),
    limit: 2,
    keys_only: true,
  };
  return async () => {
    const acquired = await raw.kv.txn({
      compare: [notCreated({ key }), notCreated({ key: prefix, range_end: prefixEnd })],
      success: [put],
      failure: [
        {
          request_txn: { compare: [notCreated({ key })], success: [put, { request_range: newest }], failure: [{ request_range: { key } }] },
        },
      ],
    });
    if (!acquired.succeeded) throw new Error('bench: the same-txns key was queued behind another');
    const revision = acquired.header.revision;
    await raw.kv.txn({
      compare: [{ key, target: 'Create', result: 'Equal', create_revision: revision }],
      success: [{ request_delete_range: { key } }],
      failure: [],
    });
  };
}

/** Two lock objects take turns: the time from one's release() call to the other's acquire resolving. */
async function handoverLatencies(
  /** @type {import('../dist/etcd.js').EtcdCoordinator} */ coordinator,
  /** @type {import('etcd3').Etcd3} */ raw,
  /** @type {number} */ runs,
) {
  const a = coordinator.lock('handover');
  const b = coordinator.lock('handover');
  /** @type {number[]} */
  const times = [];
  await a.acquire();
  for (let i = 0; i < runs; i++) {
    const [holder, waiter] = i % 2 === 0 ? [a, b] : [b, a];
    const waiting = waiter.acquire();
    // The waiter's key must be queued before the release (its watch may still be opening:
    // it then replays the delete from its start revision, and the time includes that).
    while ((await raw.getAll().prefix('cfs/lock/handover/').count()) < 2);
    const started = performance.now();
    await holder.release();
    await waiting;
    times.push(performance.now() - started);
  }
  await (runs % 2 === 0 ? a : b).release();
  return times;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
