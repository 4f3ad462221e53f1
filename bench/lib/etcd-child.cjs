// A process of its own for bench/etcd.mjs: argv[2] is JSON { endpoint, mode, ... }. It
// prints one JSON line per event.
//   counter: connects, prints { event: 'ready' }, waits for a line on stdin, then
//            `iterations` times withLock('counter'): reads the etcd key `bench-counter`
//            (a plain get, no CAS), writes it + 1; prints { event: 'done' }.
//   hold:    connects with `ttl`, takes lock 'takeover', prints { event: 'locked', token },
//            then waits to be killed.
const { createInterface } = require('node:readline');
const { EtcdCoordinator, withLock } = require('../../dist/etcd.js');
const { Etcd3 } = require('etcd3');

const args = JSON.parse(process.argv[2]);
const print = (event) => process.stdout.write(`${JSON.stringify(event, (_, v) => (typeof v === 'bigint' ? v.toString() : v))}\n`);

async function counter() {
  const coordinator = await EtcdCoordinator.connect({ endpoints: [args.endpoint], ttl: 10 });
  const raw = new Etcd3({ hosts: [args.endpoint] });
  await raw.get('bench-counter').string(); // the connection warm, as the lock's is
  print({ event: 'ready' });
  await new Promise((resolve) => createInterface({ input: process.stdin }).once('line', resolve));
  for (let i = 0; i < args.iterations; i++) {
    await withLock(
      'counter',
      async () => {
        const value = Number((await raw.get('bench-counter').string()) ?? '0') + 1;
        await raw.put('bench-counter').value(String(value));
      },
      { coordinator },
    );
  }
  print({ event: 'done' });
  await coordinator.close();
  raw.close();
  process.exit(0);
}

async function hold() {
  const coordinator = await EtcdCoordinator.connect({ endpoints: [args.endpoint], ttl: args.ttl });
  const lock = coordinator.lock('takeover');
  await lock.acquire();
  print({ event: 'locked', token: lock.fencingToken });
  setInterval(() => undefined, 60_000); // until killed
}

(args.mode === 'counter' ? counter() : hold()).catch((err) => {
  print({ event: 'fatal', message: String(err?.stack ?? err) });
  process.exit(1);
});
