// leasePort: distinct ports for the live leaseholders sharing a directory, a dead
// holder's port back at once, and ports some foreign program listens on skipped.
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IMPLEMENTATIONS, load } from './helpers/impls';
import { type Child, FIXTURES, startNode } from './helpers/spawn';
import { tempDir } from './helpers/tmp';

function listen(port: number): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen({ port, host: '127.0.0.1' }, () => resolve(server));
  });
}

/** A range of `size` ports that are all free right now (so nothing foreign skews the counts). */
async function freeRange(size: number): Promise<[number, number]> {
  for (;;) {
    const first = 20_000 + Math.floor(Math.random() * 40_000);
    const servers = await Promise.all(Array.from({ length: size }, (_, i) => listen(first + i)));
    await Promise.all(servers.map((s) => s && new Promise((r) => s.close(r))));
    if (servers.every(Boolean)) return [first, first + size - 1];
  }
}

function leaser(impl: string, dir: string, [first, last]: [number, number]): Child {
  return startNode(
    `process.argv.push(...${JSON.stringify(['port-lease.cjs', impl, dir, String(first), String(last)])}); require(${JSON.stringify(join(FIXTURES, 'port-lease.cjs'))});`,
  );
}

describe.each(IMPLEMENTATIONS)('leasePort (%s)', (impl) => {
  const { leasePort } = load(impl);

  it('20 processes leasing from a range of 16: 16 distinct ports, 4 timeouts', async () => {
    const dir = tempDir('ports');
    const range = await freeRange(16);
    const children = Array.from({ length: 20 }, () => leaser(impl, dir, range));
    const answers = await Promise.all(children.map((c) => c.nextLine()));
    for (const child of children) child.process.stdin.end();
    await Promise.all(children.map((c) => c.exited));
    const ports = answers.filter((a) => a.startsWith('port ')).map((a) => Number(a.slice(5)));
    expect(new Set(ports).size).toBe(16);
    expect(ports.every((p) => p >= range[0] && p <= range[1])).toBe(true);
    expect(answers.filter((a) => a === 'timeout')).toHaveLength(4);
  }, 60_000);

  it("a live holder's port is never handed out; a dead holder's comes back at once", async () => {
    const dir = tempDir('ports');
    const [port] = await freeRange(1);
    const range: [number, number] = [port, port];
    const child = leaser(impl, dir, range);
    expect(await child.nextLine()).toBe(`port ${port}`);
    await expect(leasePort({ dir, range })).rejects.toMatchObject({ code: 'ELOCKTIMEOUT', path: dir });
    child.process.kill('SIGKILL');
    await child.exited;
    await using lease = await leasePort({ dir, range });
    expect(lease.port).toBe(port);
  });

  it('a port a foreign program listens on is skipped', async () => {
    const dir = tempDir('ports');
    const [first, last] = await freeRange(2);
    const foreign = await listen(first);
    try {
      await using lease = await leasePort({ dir, range: [first, last] });
      expect(lease.port).toBe(last);
    } finally {
      foreign?.close();
    }
  });

  it('bad arguments throw before any file is touched', async () => {
    await expect(leasePort(undefined as never)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    await expect(leasePort({ dir: tempDir('ports'), range: [10, 5] })).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    await expect(leasePort({ dir: tempDir('ports'), range: [0, 5] })).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
  });
});
