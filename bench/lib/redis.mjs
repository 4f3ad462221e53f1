// @ts-check
// Redis as a lock peer for bench/etcd.mjs: a redis-server started on a free loopback port
// (no persistence, killed at the end), a minimal RESP client (one connection, commands
// pipelined, replies in order), and the two lock recipes people use with Redis:
//   - one instance: SET key token NX PX ttl, released by a Lua script that deletes the key
//     only if it still holds the token;
//   - Redlock over several instances: the same on each, held when a majority answered OK
//     within the validity time (ttl minus the time taken and a drift allowance).
// Neither gives a fencing token, and a restarted instance without persistence forgets
// every lock it granted (issue 14 measured a held lock granted twice that way).
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';

export const redisMissing = () =>
  spawnSync('redis-server', ['--version']).status === 0
    ? undefined
    : 'redis-server is not installed (Debian: apt-get install redis-server)';

/** A redis-server on `port`, ready when it answers PING. */
export async function startRedis(/** @type {number} */ port) {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  for (const deadline = performance.now() + 20_000; ; ) {
    try {
      const client = await RespClient.connect(port);
      await client.call('PING');
      return {
        client,
        stop: () => {
          client.close();
          child.kill('SIGKILL');
        },
      };
    } catch {}
    if (performance.now() > deadline) throw new Error('redis-server did not answer PING in 20 s');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** @typedef {string | number | null | unknown[]} RespValue one reply: a status or bulk string, an integer, nil, or an array of replies */

export class RespClient {
  /** @type {import('node:net').Socket} */ #socket;
  /** @type {{ resolve: (v: RespValue) => void, reject: (e: Error) => void }[]} */ #waiting = [];
  #buffer = Buffer.alloc(0);

  /** @param {import('node:net').Socket} socket */
  constructor(socket) {
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.#received(chunk));
    socket.on('error', (err) => {
      for (const w of this.#waiting.splice(0)) w.reject(err);
    });
  }

  /** @returns {Promise<RespClient>} */
  static connect(/** @type {number} */ port) {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => resolve(new RespClient(socket)));
      socket.once('error', reject);
    });
  }

  /** @returns {Promise<RespValue>} */
  call(/** @type {(string | number)[]} */ ...args) {
    const parts = args.map(String);
    this.#socket.write(`*${parts.length}\r\n${parts.map((p) => `$${Buffer.byteLength(p)}\r\n${p}\r\n`).join('')}`);
    return new Promise((resolve, reject) => this.#waiting.push({ resolve, reject }));
  }

  close() {
    this.#socket.destroy();
  }

  #received(/** @type {Buffer} */ chunk) {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    for (;;) {
      const parsed = parse(this.#buffer, 0);
      if (parsed === undefined) return;
      this.#buffer = this.#buffer.subarray(parsed.end);
      const waiter = this.#waiting.shift();
      if (parsed.value instanceof Error) waiter?.reject(parsed.value);
      else waiter?.resolve(parsed.value);
    }
  }
}

/** One RESP2 reply at `at`, or undefined when the buffer does not hold all of it yet. */
function parse(/** @type {Buffer} */ buf, /** @type {number} */ at) {
  const eol = buf.indexOf('\r\n', at);
  if (eol < 0) return undefined;
  const line = buf.toString('utf8', at + 1, eol);
  const next = eol + 2;
  switch (String.fromCharCode(buf[at] ?? 0)) {
    case '+':
      return { value: line, end: next };
    case '-':
      return { value: new Error(line), end: next };
    case ':':
      return { value: Number(line), end: next };
    case '$': {
      const length = Number(line);
      if (length < 0) return { value: null, end: next };
      if (buf.length < next + length + 2) return undefined;
      return { value: buf.toString('utf8', next, next + length), end: next + length + 2 };
    }
    case '*': {
      /** @type {unknown[]} */
      const items = [];
      let end = next;
      for (let i = 0; i < Number(line); i++) {
        const item = parse(buf, end);
        if (item === undefined) return undefined;
        if (!(item.value instanceof Error)) items.push(item.value);
        end = item.end;
      }
      return { value: items, end };
    }
    default:
      throw new Error(`unexpected RESP reply ${JSON.stringify(line)}`);
  }
}

const UNLOCK = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/** SET NX PX on one instance; resolves with the token once held (spins while it is not). */
export async function redisLock(/** @type {RespClient} */ client, /** @type {string} */ key, ttlMs = 10_000) {
  const token = randomBytes(16).toString('hex');
  while ((await client.call('SET', key, token, 'NX', 'PX', ttlMs)) !== 'OK');
  return {
    release: async () => {
      await client.call('EVAL', UNLOCK, 1, key, token);
    },
  };
}

/** Redlock over `clients`: held when a majority set the key within the validity time. */
export async function redlock(/** @type {RespClient[]} */ clients, /** @type {string} */ key, ttlMs = 10_000) {
  const token = randomBytes(16).toString('hex');
  const quorum = Math.floor(clients.length / 2) + 1;
  const release = async () => {
    await Promise.all(clients.map((c) => c.call('EVAL', UNLOCK, 1, key, token)));
  };
  for (;;) {
    const started = performance.now();
    const answers = await Promise.all(clients.map((c) => c.call('SET', key, token, 'NX', 'PX', ttlMs).catch(() => null)));
    /** @type {(a: RespValue) => boolean} */
    const ok = (a) => a === 'OK';
    const drift = ttlMs * 0.01 + 2;
    const validity = ttlMs - (performance.now() - started) - drift;
    if (answers.filter(ok).length >= quorum && validity > 0) return { release };
    await release();
  }
}
