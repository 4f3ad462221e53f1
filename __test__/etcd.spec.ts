// concurrent-fs/etcd against a real etcd on loopback (helpers/etcd.ts starts it): the
// contract of API.md "Beyond one machine" that needs no disruption of the server. Every
// test works in a namespace of its own on one shared server; the failure tests (killed
// and paused holders and servers) are in etcd-faults.spec.ts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import {
  closedPort,
  ETCD_MISSING,
  ETCDCTL_MISSING,
  type EtcdServer,
  nextEvent,
  startEtcd,
  startEtcdChild,
  startSilentServer,
} from './helpers/etcd';
import { describeWith } from './helpers/foreign';
import { type Child, FIXTURES, run, runNode, start } from './helpers/spawn';
import { tempDir } from './helpers/tmp';

type EtcdApi = typeof import('../dist/etcd');
const etcd: EtcdApi = require('../dist/etcd.js');
const { Snowflake }: typeof import('../dist/native') = require('../dist/native.js');
type Coordinator = import('../dist/etcd').EtcdCoordinator;

const REQUESTS = Symbol.for('concurrent-fs.test.etcdRequests');
const requestsOf = (coordinator: Coordinator): number => (coordinator as unknown as Record<symbol, number>)[REQUESTS] as number;

let namespaces = 0;

describeWith(ETCD_MISSING, 'concurrent-fs/etcd on a real etcd', () => {
  let server: EtcdServer;
  let raw: Etcd3;
  let ns: string;
  const opened: Coordinator[] = [];

  beforeAll(async () => {
    server = await startEtcd();
    raw = new Etcd3({ hosts: [server.endpoint] });
  });
  afterAll(() => raw?.close());
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((c) => c.close().catch(() => undefined)));
    ns = `t${++namespaces}/`;
  });
  ns = `t${++namespaces}/`;

  async function connect(options: Partial<Parameters<EtcdApi['EtcdCoordinator']['connect']>[0]> = {}): Promise<Coordinator> {
    const coordinator = await etcd.EtcdCoordinator.connect({ endpoints: [server.endpoint], namespace: ns, ttl: 5, ...options });
    opened.push(coordinator);
    return coordinator;
  }

  const keys = (prefix = ns) => raw.getAll().prefix(prefix).keys();

  it('bad options are ERR_INVALID_ARG_* before any network call', async () => {
    const silent = await startSilentServer();
    try {
      const endpoints = [silent.endpoint];
      const bad: [unknown, string][] = [
        [undefined, 'ERR_INVALID_ARG_TYPE'],
        [{}, 'ERR_INVALID_ARG_TYPE'],
        [{ endpoints: [] }, 'ERR_INVALID_ARG_VALUE'],
        [{ endpoints: ['127.0.0.1:2379'] }, 'ERR_INVALID_ARG_VALUE'],
        [{ endpoints: ['ftp://127.0.0.1:2379'] }, 'ERR_INVALID_ARG_VALUE'],
        [{ endpoints: [`${silent.endpoint}/v3`] }, 'ERR_INVALID_ARG_VALUE'],
        [{ endpoints: [silent.endpoint, 'https://127.0.0.1:2379'] }, 'ERR_INVALID_ARG_VALUE'],
        [{ endpoints, ttl: 0 }, 'ERR_OUT_OF_RANGE'],
        [{ endpoints, ttl: 1.5 }, 'ERR_OUT_OF_RANGE'],
        [{ endpoints, ttl: '5' }, 'ERR_INVALID_ARG_TYPE'],
        [{ endpoints, namespace: 'app' }, 'ERR_INVALID_ARG_VALUE'],
        [{ endpoints, namespace: '' }, 'ERR_INVALID_ARG_VALUE'],
        [{ endpoints, dialTimeout: 0 }, 'ERR_OUT_OF_RANGE'],
        [{ endpoints, callTimeout: Number.NaN }, 'ERR_OUT_OF_RANGE'],
        [{ endpoints, auth: { username: 'u' } }, 'ERR_INVALID_ARG_TYPE'],
        [{ endpoints, credentials: { rootCertificate: 'pem' } }, 'ERR_INVALID_ARG_TYPE'],
        [{ endpoints, signal: 'stop' }, 'ERR_INVALID_ARG_TYPE'],
      ];
      for (const [options, code] of bad) {
        await expect(etcd.EtcdCoordinator.connect(options as never), JSON.stringify(options)).rejects.toMatchObject({ code });
      }
      await expect(etcd.EtcdCoordinator.connect({ endpoints, signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ABORT_ERR' });
      expect(silent.connections()).toBe(0);
    } finally {
      await silent.close();
    }
  });

  it('bad arguments of locks and leases are ERR_INVALID_ARG_*, and a pre-aborted signal rejects before any request', async () => {
    const coordinator = await connect();
    const before = requestsOf(coordinator);
    expect(() => coordinator.lock('')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => coordinator.lock(7 as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => coordinator.lock('x', { timeout: -1 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    const lock = coordinator.lock('x');
    await expect(lock.acquire({ signal: 'x' as never })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    await expect(lock.acquire({ signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ABORT_ERR' });
    await expect(lock.release()).rejects.toBeInstanceOf(etcd.LockNotHeldError);
    await expect(etcd.withLock('x', () => 1, {} as never)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    await expect(etcd.withLock('x', 'fn' as never, { coordinator })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    await expect(etcd.lockMany('x' as never, { coordinator })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    await expect(etcd.leaseWorkerId('w', { coordinator, bits: 17 })).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    await expect(etcd.leaseWorkerId('', { coordinator })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    expect(requestsOf(coordinator) - before).toBe(0);
    expect(await keys()).toEqual([]);
  });

  it('a refused endpoint rejects with CoordinatorUnavailableError (endpoints, cause) within dialTimeout', async () => {
    const endpoint = await closedPort();
    const started = performance.now();
    const err = await etcd.EtcdCoordinator.connect({ endpoints: [endpoint], dialTimeout: 1000 }).catch((e: unknown) => e);
    const elapsed = performance.now() - started;
    console.log(`refused endpoint: CoordinatorUnavailableError after ${elapsed.toFixed(0)} ms (dialTimeout 1000)`);
    expect(err).toBeInstanceOf(etcd.CoordinatorUnavailableError);
    expect(err).toMatchObject({ code: 'ECOORDUNAVAIL', endpoints: [endpoint] });
    expect((err as Error).cause).toBeInstanceOf(Error);
    expect(elapsed).toBeLessThan(1000 + 2000);
  });

  it('a silent endpoint (accepts TCP, never answers) rejects with CoordinatorUnavailableError within dialTimeout', async () => {
    const silent = await startSilentServer();
    try {
      const started = performance.now();
      const err = await etcd.EtcdCoordinator.connect({ endpoints: [silent.endpoint], dialTimeout: 1000 }).catch((e: unknown) => e);
      const elapsed = performance.now() - started;
      console.log(`silent endpoint: CoordinatorUnavailableError after ${elapsed.toFixed(0)} ms (dialTimeout 1000)`);
      expect(err).toMatchObject({ code: 'ECOORDUNAVAIL', endpoints: [silent.endpoint] });
      expect(silent.connections()).toBeGreaterThan(0);
      expect(elapsed).toBeLessThan(1000 + 2000);
    } finally {
      await silent.close();
    }
  });

  it('with a refused endpoint listed first, locks go on at the live one', async () => {
    const refused = await closedPort();
    const coordinator = await connect({ endpoints: [refused, server.endpoint], dialTimeout: 5000, callTimeout: 5000 });
    for (let i = 0; i < 5; i++) {
      const lock = coordinator.lock('failover');
      await lock.acquire({ timeout: 5000 });
      expect(lock.isLocked).toBe(true);
      await lock.release();
    }
    expect(await keys(`${ns}lock/`)).toEqual([]);
  });

  it('a KV call to a silent endpoint listed first gives it up after a third of its time and is answered by the live one', async () => {
    const { createEtcd3Transport }: typeof import('../dist/etcd/etcd3-transport') = require('../dist/etcd/etcd3-transport.js');
    const silent = await startSilentServer();
    const transport = createEtcd3Transport({ endpoints: [silent.endpoint, server.endpoint], callTimeout: 6000 } as never);
    try {
      await raw.put(`${ns}silent-first`).value('here');
      const started = performance.now();
      const res = await transport.range({ key: Buffer.from(`${ns}silent-first`) }, 6000);
      const elapsed = performance.now() - started;
      console.log(`silent endpoint first: answered by the live one after ${elapsed.toFixed(0)} ms (call timeout 6000)`);
      expect(res.kvs.map((kv) => kv.value.toString())).toEqual(['here']);
      expect(silent.connections()).toBe(1);
    } finally {
      transport.close();
      await silent.close();
    }
  });

  it('a watch for one key covers what came before it was created: the key gone, or there again as a newer incarnation, ends it; the same incarnation does not', async () => {
    // The watch starts at the server's revision (a watch from an older revision is served
    // by etcd's sync of lagging watches, every 100 ms) and reads the key once. Here the
    // change happened before the watch, so only that read can end it.
    const { createEtcd3Transport }: typeof import('../dist/etcd/etcd3-transport') = require('../dist/etcd/etcd3-transport.js');
    const transport = createEtcd3Transport({ endpoints: [server.endpoint], callTimeout: 5000 } as never);
    const outcome = (watch: { changed: Promise<void> }, waitMs: number) =>
      Promise.race([
        watch.changed.then(() => 'changed' as const),
        new Promise<'waiting'>((resolve) => setTimeout(resolve, waitMs, 'waiting').unref()),
      ]);
    try {
      const gone = `${ns}watch-gone`;
      const seen = BigInt((await raw.put(gone).value('x').exec()).header.revision);
      await raw.delete().key(gone);
      const again = `${ns}watch-again`;
      const seenAgain = BigInt((await raw.put(again).value('1').exec()).header.revision);
      await raw.delete().key(again);
      await raw.put(again).value('2'); // a newer incarnation: created after the revision the waiter read
      const kept = `${ns}watch-kept`;
      const seenKept = BigInt((await raw.put(kept).value('x').exec()).header.revision);

      // Every one-key read the watches make, counted when its answer is in.
      let readsAnswered = 0;
      let allRead: () => void = () => undefined;
      const threeRead = new Promise<void>((resolve) => {
        allRead = resolve;
      });
      const range = transport.range.bind(transport);
      transport.range = async (...args) => {
        const res = await range(...args);
        if (++readsAnswered === 3) allRead();
        return res;
      };
      const requestsBefore = transport.requests;
      const watches = [gone, again, kept].map((key, i) =>
        transport.watchDelete(Buffer.from(key), ([seen, seenAgain, seenKept][i] as bigint) + 1n, { prefix: false }),
      );
      // A hang guard, not a timing: the first two end as soon as their read is answered.
      expect(await outcome(watches[0] as (typeof watches)[0], 20_000)).toBe('changed');
      expect(await outcome(watches[1] as (typeof watches)[0], 20_000)).toBe('changed');
      // The same incarnation still there: once its read is answered (and acted on, a turn
      // later) the watch still waits, and it ends on the key's delete.
      const third = watches[2] as (typeof watches)[0];
      let thirdChanged = false;
      void third.changed.then(() => {
        thirdChanged = true;
      });
      await threeRead;
      await new Promise((resolve) => setImmediate(resolve));
      expect(thirdChanged).toBe(false);
      await raw.delete().key(kept);
      expect(await outcome(third, 20_000)).toBe('changed');
      expect(transport.requests - requestsBefore).toBe(3 + 3); // 3 watch creations, 3 one-key reads
      for (const watch of watches) watch.cancel();
    } finally {
      transport.close();
    }
  });

  it("an acquire whose answer was lost and which was sent again holds with its key's create revision, and its release deletes the key", async () => {
    // What #unary's retry after UNAVAILABLE does when the first attempt was applied: the
    // same txn reaches etcd twice, and only the second answer arrives.
    const { createEtcd3Transport }: typeof import('../dist/etcd/etcd3-transport') = require('../dist/etcd/etcd3-transport.js');
    const { Session }: typeof import('../dist/etcd/session') = require('../dist/etcd/session.js');
    const { EtcdLock }: typeof import('../dist/etcd/lock') = require('../dist/etcd/lock.js');
    const transport = createEtcd3Transport({ endpoints: [server.endpoint], callTimeout: 5000 } as never);
    const sentTwice: typeof transport = Object.create(transport, {
      txn: {
        value: async (request: Parameters<typeof transport.txn>[0], timeout: number) => {
          await transport.txn(request, timeout); // applied, its answer lost
          return transport.txn(request, timeout);
        },
      },
    });
    const session = await Session.open(transport, 5, 5000, 5000);
    let n = 0;
    const host = {
      transport: sentTwice,
      namespace: ns,
      callTimeout: 5000,
      session: async () => session,
      nextKeyNumber: () => ++n,
      workerLeases: new Set<never>(),
    };
    try {
      for (const shared of [true, false]) {
        const lock = await new EtcdLock(host, 'resent', { shared, timeout: 5000 }).acquire();
        const [kv] = (await raw.getAll().prefix(`${ns}lock/resent/`).exec()).kvs;
        expect(lock.key).toBe(kv?.key.toString());
        expect(lock.fencingToken).toBe(BigInt(kv?.create_revision ?? -1));
        await lock.release();
        expect(await keys(`${ns}lock/`)).toEqual([]);
      }
    } finally {
      await session.close();
      transport.close();
    }
  });

  it('two lock objects exclude each other in one process; re-entrant per object; tokens increase from holder to holder', async () => {
    const coordinator = await connect();
    const a = coordinator.lock('x');
    const b = coordinator.lock('x');
    await a.acquire();
    expect(a.isLocked).toBe(true);
    const first = a.fencingToken as bigint;
    expect(typeof first).toBe('bigint');
    expect(await b.tryAcquire()).toBe(false);
    expect(b.isLocked).toBe(false);
    expect(b.fencingToken).toBeUndefined();
    await a.acquire(); // counts up
    await a.release();
    expect(a.isLocked).toBe(true);
    expect(await b.tryAcquire()).toBe(false);
    const waiting = b.acquire({ timeout: 30_000 });
    await a.release();
    await waiting;
    expect(a.isLocked).toBe(false);
    expect(b.fencingToken).toBeGreaterThan(first);
    b.assertHeld();
    expect(() => a.assertHeld()).toThrow(etcd.LockNotHeldError);
    await b.release();
    await expect(b.release()).rejects.toMatchObject({ code: 'ENOTACQUIRED' });
    expect(await keys()).toEqual([]);
  });

  it('keys are those of etcd lock recipe: <ns>lock/<name>/<leaseHex>_<n>', async () => {
    const coordinator = await connect();
    const lock = await coordinator.lock('config.json').acquire();
    const [key] = await keys();
    expect(key).toBe(lock.key);
    expect(key).toMatch(new RegExp(`^${ns}lock/config\\.json/[0-9a-f]+_\\d+$`));
    const kv = await raw.get(key as string).exec();
    expect(BigInt(kv.kvs[0]?.create_revision as string)).toBe(lock.fencingToken);
    await lock.release();
  });

  it('withLock passes the signal and token, re-enters when nested, and releases when fn throws', async () => {
    const coordinator = await connect();
    const seen: bigint[] = [];
    await expect(
      etcd.withLock(
        'x',
        async ({ signal, fencingToken }) => {
          expect(signal.aborted).toBe(false);
          seen.push(fencingToken);
          await etcd.withLock('x', ({ fencingToken: inner }) => seen.push(inner), { coordinator, timeout: 0 });
          throw new Error('boom');
        },
        { coordinator },
      ),
    ).rejects.toThrow('boom');
    expect(seen[0]).toBe(seen[1]);
    expect(await keys()).toEqual([]);
    expect(await coordinator.lock('x').tryAcquire()).toBe(true);
  });

  it('lockMany takes all or none: with one taken it times out holding nothing, then takes all in name order', async () => {
    const coordinator = await connect();
    const other = await connect();
    const b = await other.lock('b').acquire();
    await expect(etcd.lockMany(['c', 'a', 'b', 'a'], { coordinator, timeout: 300 })).rejects.toMatchObject({
      code: 'ELOCKTIMEOUT',
      path: 'b',
    });
    expect(await keys()).toEqual([b.key]);
    await b.release();
    const set = await etcd.lockMany(['c', 'a', 'b', 'a'], { coordinator, timeout: 30_000 });
    expect(set.names).toEqual(['a', 'b', 'c']);
    expect(set.locks.every((lock) => lock.isLocked)).toBe(true);
    expect(await other.lock('a').tryAcquire()).toBe(false);
    await set.release();
    expect(await keys()).toEqual([]);
  });

  it('a wait that ends (timeout, abort, tryAcquire) leaves no key behind', async () => {
    const coordinator = await connect();
    const holder = await coordinator.lock('x').acquire();
    const waiter = coordinator.lock('x');
    const started = performance.now();
    await expect(waiter.acquire({ timeout: 200 })).rejects.toBeInstanceOf(etcd.LockTimeoutError);
    console.log(`timeout 200: LockTimeoutError after ${(performance.now() - started).toFixed(0)} ms`);
    expect(await keys()).toEqual([holder.key]);
    const controller = new AbortController();
    const aborted = waiter.acquire({ signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    await expect(aborted).rejects.toMatchObject({ code: 'ABORT_ERR' });
    expect(await keys()).toEqual([holder.key]);
    expect(await waiter.tryAcquire()).toBe(false);
    expect(await keys()).toEqual([holder.key]);
    await holder.release();
    expect(await waiter.tryAcquire()).toBe(true);
    await waiter.release();
  });

  it('close() frees every lock at once: a waiter elsewhere gets it, and the closed holder knows it lost it', async () => {
    const holderSide = await connect({ ttl: 30 });
    const waiterSide = await connect();
    const held = await holderSide.lock('x').acquire();
    const token = held.fencingToken as bigint;
    const waiting = waiterSide.lock('x').acquire({ timeout: 30_000 });
    await waitForKeys(2);
    const started = performance.now();
    await holderSide.close();
    const got = await waiting;
    console.log(`close() to the waiter holding: ${(performance.now() - started).toFixed(1)} ms (ttl 30 s)`);
    expect(got.fencingToken).toBeGreaterThan(token);
    expect(held.isLocked).toBe(false);
    expect(held.signal.aborted).toBe(true);
    expect(held.signal.reason).toMatchObject({ code: 'ELEASELOST' });
    expect(() => held.assertHeld()).toThrow(etcd.LeaseLostError);
    expect(() => holderSide.lock('y')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_STATE' }));
    await got.release();
  });

  it('mutual exclusion across 4 processes x 250 unguarded read-increment-writes: exact count, tokens rising with it', async () => {
    const iterations = 250;
    const children = Array.from({ length: 4 }, () =>
      startEtcdChild({ endpoint: server.endpoint, namespace: ns, mode: 'counter', name: 'counter', iterations }),
    );
    const started = performance.now();
    const reports = await Promise.all(children.map((child) => nextEvent(child)));
    const seconds = (performance.now() - started) / 1000;
    console.log(`4 x ${iterations} locked increments: ${((4 * iterations) / seconds).toFixed(0)}/s (process start included)`);
    expect(await raw.get('counter').string()).toBe(String(4 * iterations));
    const increments = reports.flatMap((report) => report.increments ?? []).sort((x, y) => x[0] - y[0]);
    expect(increments.map(([value]) => value)).toEqual(Array.from({ length: 4 * iterations }, (_, i) => i + 1));
    for (let i = 1; i < increments.length; i++) {
      expect(BigInt((increments[i] as [number, string])[1])).toBeGreaterThan(BigInt((increments[i - 1] as [number, string])[1]));
    }
    await raw.delete().key('counter');
  });

  it('shared holders hold together: two processes read at once; an exclusive waiter waits for both and then holds', async () => {
    const readers = [1, 2].map(() =>
      startEtcdChild({ endpoint: server.endpoint, namespace: ns, mode: 'hold', name: 'x', shared: true, timeout: 10_000 }),
    );
    const tokens = await Promise.all(readers.map(async (child) => BigInt((await nextEvent(child)).token as string)));
    const coordinator = await connect();
    const writer = coordinator.lock('x');
    expect(await writer.tryAcquire()).toBe(false);
    const waiting = writer.acquire({ timeout: 30_000 });
    await waitForKeys(3);
    (readers[0] as Child).send('release');
    expect((await nextEvent(readers[0] as Child)).event).toBe('released');
    expect(writer.isLocked).toBe(false);
    expect((await keys()).filter((key) => key.includes('/shared/'))).toHaveLength(1); // the other reader still holds
    (readers[1] as Child).send('release');
    expect((await nextEvent(readers[1] as Child)).event).toBe('released');
    await waiting;
    expect(writer.fencingToken).toBeGreaterThan(tokens[0] as bigint);
    expect(writer.fencingToken).toBeGreaterThan(tokens[1] as bigint);
    await writer.release();
    for (const child of readers) child.send('exit');
  });

  it('shared keys are <ns>lock/<name>/shared/<leaseHex>_<n> with the value "shared"; exclusive keys stay empty', async () => {
    const coordinator = await connect();
    const a = await coordinator.lock('x', { shared: true }).acquire();
    const b = await coordinator.lock('x', { shared: true }).acquire({ timeout: 10_000 }); // held together
    expect(a.shared && b.isLocked && a.isLocked).toBe(true);
    const found = await raw.getAll().prefix(`${ns}lock/x/`).strings();
    expect(Object.keys(found).sort()).toEqual([a.key, b.key].sort());
    for (const [key, value] of Object.entries(found)) {
      expect(key).toMatch(new RegExp(`^${ns}lock/x/shared/[0-9a-f]+_\\d+$`));
      expect(value).toBe('shared');
    }
    await Promise.all([a.release(), b.release()]);
    const c = await coordinator.lock('x').acquire();
    expect(await raw.get(c.key as string).string()).toBe('');
    await c.release();
  });

  it('a reader queued behind a waiting writer waits for the writer (no writer starvation)', async () => {
    const coordinator = await connect();
    const first = await coordinator.lock('x', { shared: true }).acquire();
    const writer = coordinator.lock('x');
    const reader = coordinator.lock('x', { shared: true });
    const order: string[] = [];
    const writing = writer.acquire({ timeout: 30_000 }).then(() => order.push('writer'));
    await waitForKeys(2);
    expect(await reader.tryAcquire()).toBe(false);
    const reading = reader.acquire({ timeout: 30_000 }).then(() => order.push('reader'));
    await first.release();
    await writing;
    expect(reader.isLocked).toBe(false);
    await writer.release();
    await reading;
    expect(order).toEqual(['writer', 'reader']);
    await reader.release();
    expect(await keys()).toEqual([]);
  });

  it('history of 4 processes (2 mostly reading, 2 mostly writing) on one name: no exclusive hold overlaps any other; shared ones overlap', async () => {
    const file = join(tempDir('etcd-rw'), 'history.log');
    const children = [0.9, 0.9, 0.2, 0.2].map((sharedChance, id) =>
      startEtcdChild({
        endpoint: server.endpoint,
        namespace: ns,
        mode: 'history',
        name: 'rw',
        iterations: 40,
        holdMs: 15,
        sharedChance,
        id,
        file,
      }),
    );
    for (const event of await Promise.all(children.map((child) => nextEvent(child)))) expect(event.event).toBe('done');
    const active = new Map<string, string>(); // holder id -> kind
    let sharedOverlaps = 0;
    let exclusives = 0;
    for (const line of readFileSync(file, 'utf8').trim().split('\n')) {
      const [id, what, kind] = line.split(' ') as [string, string, string];
      if (what === 'leave') {
        expect(active.delete(id)).toBe(true);
        continue;
      }
      const others = [...active.values()];
      if (kind === 'exclusive') {
        exclusives++;
        expect(others, `exclusive enter of ${id} while held: ${line}`).toEqual([]);
      } else {
        expect(others, `shared enter of ${id} during an exclusive hold`).not.toContain('exclusive');
        if (others.length > 0) sharedOverlaps++;
      }
      active.set(id, kind);
    }
    expect(active.size).toBe(0);
    console.log(`readers-writer history: 160 holds, ${exclusives} exclusive, ${sharedOverlaps} shared enters while other readers held`);
    expect(exclusives).toBeGreaterThan(0);
    expect(sharedOverlaps).toBeGreaterThan(0);
  });

  it('worker IDs: 20 processes with bits 4 get 16 distinct IDs and 4 LockTimeoutErrors', async () => {
    const children = Array.from({ length: 20 }, () =>
      startEtcdChild({ endpoint: server.endpoint, namespace: ns, mode: 'lease', name: 'w', bits: 4 }),
    );
    const events = await Promise.all(children.map((child) => nextEvent(child)));
    const ids = events.filter((e) => e.event === 'leased').map((e) => e.id);
    expect(new Set(ids).size).toBe(16);
    expect(ids.every((id) => (id as number) >= 0 && (id as number) < 16)).toBe(true);
    expect(events.filter((e) => e.event === 'error').map((e) => e.code)).toEqual(Array(4).fill('ELOCKTIMEOUT'));
    for (const child of children) child.send('exit');
    await Promise.all(children.map((child) => child.exited));
  });

  it('worker IDs come back after release; a waiting lease takes a freed ID', async () => {
    const coordinator = await connect();
    const zero = await etcd.leaseWorkerId('w', { coordinator, bits: 1 });
    const one = await etcd.leaseWorkerId('w', { coordinator, bits: 1 });
    expect([zero.id, one.id]).toEqual([0, 1]);
    await expect(etcd.leaseWorkerId('w', { coordinator, bits: 1 })).rejects.toMatchObject({ code: 'ELOCKTIMEOUT', path: 'w' });
    const waiting = etcd.leaseWorkerId('w', { coordinator, bits: 1, timeout: 30_000 });
    await one.release();
    expect((await waiting).id).toBe(1);
    await zero.release();
    expect((await etcd.leaseWorkerId('w', { coordinator, bits: 1 })).id).toBe(0);
  });

  it('a Snowflake on an etcd lease mints while it is held and throws LeaseLostError once released or closed', async () => {
    const coordinator = await connect();
    const lease = await etcd.leaseWorkerId('w', { coordinator });
    const ids = new Snowflake({ workerId: lease });
    expect(ids.workerId).toBe(lease.id);
    expect(ids.parse(ids.next()).workerId).toBe(lease.id);
    expect(ids.nextBatch(10_000).length).toBe(10_000);
    expect(lease.validUntil).toBeGreaterThan(performance.now());
    await coordinator.close();
    expect(lease.signal.aborted).toBe(true);
    expect(lease.signal.reason).toMatchObject({ code: 'ELEASELOST' });
    expect(() => ids.next()).toThrow(etcd.LeaseLostError);
    expect(() => ids.nextBatch(2)).toThrow(expect.objectContaining({ code: 'ELEASELOST' }));
    const again = await connect();
    const second = await etcd.leaseWorkerId('w', { coordinator: again });
    const more = new Snowflake({ workerId: second });
    more.next();
    await second.release();
    expect(() => more.next()).toThrow(expect.objectContaining({ code: 'ELEASELOST' }));
  });

  it("a worker ID's mark travels with it: the next holder waits until its clock is past it, and refuses one far ahead", async () => {
    const coordinator = await connect();
    const markKey = `${ns}worker-marks/w/0`;
    const mark = Date.now() + 400;
    await raw.put(markKey).value(String(mark));
    const lease = await etcd.leaseWorkerId('w', { coordinator, bits: 1 });
    expect(lease.id).toBe(0);
    const ids = new Snowflake({ workerId: lease });
    expect(ids.parse(ids.next()).timestamp).toBeGreaterThan(mark);
    // While held, the mark is a reservation ahead of every ID minted.
    const minted = ids.parse(ids.nextBatch(50_000).at(-1) as bigint).timestamp;
    expect(Number(await raw.get(markKey).string())).toBeGreaterThan(minted);
    await lease.release();
    expect(Number(await raw.get(markKey).string())).toBeGreaterThanOrEqual(minted);
    // A mark 10 s ahead: this clock is behind the last holder's; waiting that out is refused.
    await raw.put(markKey).value(String(Date.now() + 10_000));
    await expect(etcd.leaseWorkerId('w', { coordinator, bits: 1 })).rejects.toMatchObject({ code: 'ECLOCKBACKWARDS' });
    expect(await keys(`${ns}workers/`)).toEqual([]);
  });

  it('a SIGKILLed holder of a worker ID: the next holder mints only after its last ID', async () => {
    const dir = tempDir('etcd-ids');
    const coordinator = await connect({ ttl: 1 });
    const taken = await etcd.leaseWorkerId('w', { coordinator, bits: 1 }); // only ID 1 is left for the child
    const first = startEtcdChild({ endpoint: server.endpoint, namespace: ns, mode: 'lease', name: 'w', bits: 1, ttl: 1 });
    expect(await nextEvent(first)).toMatchObject({ event: 'leased', id: 1 });
    first.send(`mint 200000 ${join(dir, 'first')}`);
    const { last } = await nextEvent(first);
    first.process.kill('SIGKILL');
    await first.exited;
    const lease = await etcd.leaseWorkerId('w', { coordinator, bits: 1, timeout: 30_000 });
    expect([taken.id, lease.id]).toEqual([0, 1]);
    const next = new Snowflake({ workerId: lease }).next();
    expect(next).toBeGreaterThan(BigInt(last as string));
  });

  it('1M Snowflake IDs from 4 processes on etcd worker IDs: no duplicate', async () => {
    const dir = tempDir('etcd-ids');
    const children = Array.from({ length: 4 }, () =>
      startEtcdChild({ endpoint: server.endpoint, namespace: ns, mode: 'lease', name: 'w', bits: 10 }),
    );
    const leased = await Promise.all(children.map((child) => nextEvent(child)));
    expect(new Set(leased.map((e) => e.id)).size).toBe(4);
    children.forEach((child, i) => {
      child.send(`mint 250000 ${join(dir, String(i))}`);
    });
    await Promise.all(children.map((child) => nextEvent(child)));
    const all = new BigUint64Array(1_000_000);
    children.forEach((_, i) => {
      const bytes = readFileSync(join(dir, String(i)));
      all.set(new BigUint64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8), i * 250_000);
    });
    all.sort();
    let duplicates = 0;
    for (let i = 1; i < all.length; i++) if (all[i] === all[i - 1]) duplicates++;
    expect(duplicates).toBe(0);
  });

  async function waitForKeys(count: number): Promise<void> {
    const deadline = performance.now() + 30_000;
    while ((await keys()).length < count) {
      if (performance.now() > deadline) throw new Error(`fewer than ${count} keys under ${ns} after 30 s`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  describeWith(ETCDCTL_MISSING, 'interop with etcdctl lock', () => {
    // Exclusive or shared, ours excludes etcdctl's lock and etcdctl's excludes ours.
    for (const [kind, shared] of [
      ['EtcdLock(NAME)', false],
      ['a shared EtcdLock(NAME)', true],
    ] as const) {
      it(`\`etcdctl lock <ns>lock/NAME\` and ${kind} exclude each other, both ways`, async () => {
        const coordinator = await connect();
        const env = ['--endpoints', server.endpoint];
        // etcdctl holds (it prints its key, then holds until told to stop): ours cannot
        // take it, and gets it once etcdctl lets go.
        const ctl = start(['etcdctl', ...env, 'lock', `${ns}lock/x`]);
        expect(await ctl.nextLine()).toMatch(new RegExp(`^${ns}lock/x/[0-9a-f]+$`));
        const ours = coordinator.lock('x', { shared });
        expect(await ours.tryAcquire()).toBe(false);
        const waiting = ours.acquire({ timeout: 30_000 });
        ctl.process.kill('SIGTERM');
        await ctl.exited;
        await waiting;
        // Ours holds: etcdctl waits until we release.
        const second = start(['etcdctl', ...env, 'lock', `${ns}lock/x`, '--', 'echo', 'etcdctl got it']);
        await waitForKeys(2);
        expect(ours.isLocked).toBe(true);
        await ours.release();
        expect((await second.exited).stdout.trim()).toBe('etcdctl got it');
        const done = await run(['etcdctl', ...env, 'get', '--prefix', '--keys-only', ns]);
        expect(done.stdout.trim()).toBe('');
      });
    }
  });
});

it('concurrent-fs/etcd without etcd3 installed: importing it fails with ERR_MODULE_NOT_FOUND saying to install etcd3; nothing else needs it', () => {
  const hook = join(FIXTURES, 'etcd3-missing.cjs');
  const run = runNode(
    `try { require('concurrent-fs/etcd'); } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }
     const cfs = require('concurrent-fs');
     console.log(typeof cfs.withLock);`,
    { NODE_OPTIONS: `--require ${hook}` },
  );
  const [failure, main] = run.stdout.trim().split('\n');
  const err = JSON.parse(failure as string) as { code: string; message: string };
  expect(err.code).toBe('ERR_MODULE_NOT_FOUND');
  expect(err.message).toContain('npm install etcd3');
  expect(main).toBe('function');
  // The main entry never loads etcd3, even where it is installed.
  const plain = runNode(`require('concurrent-fs'); console.log(Object.keys(require.cache).some((p) => p.includes('node_modules/etcd3/')))`);
  expect(plain.stdout.trim()).toBe('false');
  const esm = runNode(`import('concurrent-fs/etcd').catch((e) => console.log(e.code))`, { NODE_OPTIONS: `--require ${hook}` });
  expect(esm.stdout.trim()).toBe('ERR_MODULE_NOT_FOUND');
});
