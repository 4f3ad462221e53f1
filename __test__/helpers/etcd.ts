// Real etcd servers for the tests of concurrent-fs/etcd: each on free 127.0.0.1 ports
// (never the default 2379/2380, which a system etcd may hold), its data dir on tmpfs,
// with fast elections (`--heartbeat-interval 10 --election-timeout 100`: ready in a few
// hundred ms, and a minimum lease ttl of 1 s). A test file starts one shared server for
// its functional tests and a private one for each test that disrupts it; every server a
// file started is killed after the file. Without etcd the tests skip with the reason,
// except under CI=true, where .ci/run installs it and a missing etcd fails.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { type Child, startFixture } from './spawn';

function missing(command: string, args: string[], pkg: string): string | undefined {
  const probe = spawnSync(command, args, { encoding: 'utf8' });
  return probe.error || probe.status !== 0 ? `${command} is not installed (Debian: apt-get install ${pkg})` : undefined;
}

export const ETCD_MISSING = missing('etcd', ['--version'], 'etcd-server');
export const ETCDCTL_MISSING = missing('etcdctl', ['version'], 'etcd-client');

/** /dev/shm where there is one: etcd fsyncs its WAL, which on a disk doubles every latency. */
const DATA_ROOT = process.platform === 'linux' ? '/dev/shm' : tmpdir();

export interface EtcdServer {
  readonly endpoint: string;
  readonly pid: number;
  /** SIGSTOP: the server keeps its connections and answers nothing. */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  /** Kills it (SIGKILL by default; SIGTERM lets it shut down) and waits for the exit. */
  stop(signal?: 'SIGKILL' | 'SIGTERM'): Promise<void>;
  /** Starts it again on the same ports, on its data (or, with `wipe`, on an empty data dir). */
  restart(options?: { wipe?: boolean }): Promise<void>;
}

const started = new Set<Running>();

afterAll(async () => {
  await Promise.all([...started].map((server) => server.dispose()));
});
process.on('exit', () => {
  for (const server of started) server.process?.kill('SIGKILL');
});

/** Starts an etcd and resolves once /health says so. */
export async function startEtcd(options: { args?: readonly string[] } = {}): Promise<EtcdServer> {
  for (let attempt = 1; ; attempt++) {
    const [client, peer] = await freePorts(2);
    const server = new Running(client as number, peer as number, options.args ?? []);
    try {
      await server.start();
      return server;
    } catch (err) {
      await server.dispose();
      if (attempt >= 3) throw err; // else the ports were taken between the probe and the bind
    }
  }
}

class Running implements EtcdServer {
  readonly endpoint: string;
  process: ChildProcess | undefined;
  #dataDir: string;
  #exited: Promise<void> = Promise.resolve();
  #log = '';

  constructor(
    readonly clientPort: number,
    readonly peerPort: number,
    readonly extraArgs: readonly string[],
  ) {
    this.endpoint = `http://127.0.0.1:${clientPort}`;
    this.#dataDir = mkdtempSync(join(DATA_ROOT, 'cfs-etcd-'));
    started.add(this);
  }

  get pid(): number {
    return this.process?.pid ?? -1;
  }

  async start(): Promise<void> {
    const peer = `http://127.0.0.1:${this.peerPort}`;
    const child = spawn(
      'etcd',
      [
        ...['--name', 'cfs-test', '--data-dir', this.#dataDir],
        ...['--listen-client-urls', this.endpoint, '--advertise-client-urls', this.endpoint],
        ...['--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer],
        ...['--initial-cluster', `cfs-test=${peer}`, '--initial-cluster-state', 'new'],
        ...['--heartbeat-interval', '10', '--election-timeout', '100', '--logger', 'zap', '--log-level', 'warn'],
        ...this.extraArgs,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    this.process = child;
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.#log = (this.#log + chunk).slice(-4000);
    });
    let gone = false;
    this.#exited = new Promise((resolve) => {
      child.on('exit', () => {
        gone = true;
        resolve();
      });
    });
    const deadline = performance.now() + 20_000;
    while (!(await healthy(this.endpoint))) {
      if (gone) throw new Error(`etcd exited before it was ready: ${this.#log}`);
      if (performance.now() > deadline) throw new Error(`etcd not healthy within 20 s: ${this.#log}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  pause(): void {
    this.process?.kill('SIGSTOP');
  }

  resume(): void {
    this.process?.kill('SIGCONT');
  }

  async stop(signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL'): Promise<void> {
    this.process?.kill('SIGCONT');
    this.process?.kill(signal);
    const killer = setTimeout(() => this.process?.kill('SIGKILL'), 3000);
    await this.#exited;
    clearTimeout(killer);
  }

  async restart(options: { wipe?: boolean } = {}): Promise<void> {
    await this.stop();
    if (options.wipe) {
      rmSync(this.#dataDir, { recursive: true, force: true });
      this.#dataDir = mkdtempSync(join(DATA_ROOT, 'cfs-etcd-'));
    }
    await this.start();
  }

  async dispose(): Promise<void> {
    started.delete(this);
    await this.stop();
    rmSync(this.#dataDir, { recursive: true, force: true });
  }
}

async function healthy(endpoint: string): Promise<boolean> {
  try {
    const res = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(1000) });
    return ((await res.json()) as { health?: string }).health === 'true';
  } catch {
    return false;
  }
}

/** Ports free right now (bound to 0 and let go; the caller retries if one is taken meanwhile). */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Server>((resolve) => {
          const server = createServer();
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => (server.address() as { port: number }).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

/** A TCP server that accepts connections and never says a word (a hung etcd); counts connections. */
export async function startSilentServer(): Promise<{ endpoint: string; connections: () => number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    connections: () => connections,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** A port nothing listens on (refused). */
export async function closedPort(): Promise<string> {
  const [port] = await freePorts(1);
  return `http://127.0.0.1:${port}`;
}

/** What fixtures/etcd-child.cjs prints: one JSON object per line. */
export interface ChildEvent {
  event: string;
  code?: string;
  token?: string;
  id?: number;
  ok?: boolean;
  isLocked?: boolean;
  succeeded?: boolean;
  last?: string;
  increments?: [number, string][];
  message?: string;
}

/** Starts fixtures/etcd-child.cjs with `args` (killed after the test if still running). */
export function startEtcdChild(args: Record<string, unknown>): Child {
  return startFixture('etcd-child.cjs', [JSON.stringify(args)]);
}

/** The child's next event; a 'fatal' one fails the test with the child's message. */
export async function nextEvent(child: Child): Promise<ChildEvent> {
  const event = JSON.parse(await child.nextLine()) as ChildEvent;
  if (event.event === 'fatal') throw new Error(`etcd child failed: ${event.code} ${event.message}`);
  return event;
}
