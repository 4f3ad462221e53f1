// The direct gRPC channel of concurrent-fs/etcd (ts/etcd/grpc-unary.ts) against an HTTP/2
// server of the test's own, which answers as etcd does and also as etcd does when things
// go wrong: an answer that is only an error, a GOAWAY in the middle of a call, silence,
// a malformed frame. No etcd needed: these are the edges a real server shows rarely.
import { createServer, type Http2Server, type Http2Session, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { type AddressInfo, createServer as createTcpServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';

type Channel = typeof import('../dist/etcd/grpc-unary');
const { GrpcUnaryChannel, GrpcCallError }: Channel = require('../dist/etcd/grpc-unary.js');

const OK = { ':status': 200, 'content-type': 'application/grpc' };

function framed(message: Buffer): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out.writeUInt32BE(message.length, 1);
  message.copy(out, 5);
  return out;
}

/** Answers `message` as a gRPC server does: headers, the framed message, then grpc-status 0 in the trailers. */
function answer(stream: ServerHttp2Stream, body: Buffer): void {
  stream.respond(OK, { waitForTrailers: true });
  stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
  stream.end(body);
}

interface FakeServer {
  endpoint: string;
  requests: IncomingHttpHeaders[];
  sessions: () => number;
  close: () => Promise<void>;
}

/** An HTTP/2 server whose behaviour for each call is `handle(stream, path, request body)`. */
async function fakeServer(handle: (stream: ServerHttp2Stream, path: string, body: Buffer) => void): Promise<FakeServer> {
  const server: Http2Server = createServer();
  const requests: IncomingHttpHeaders[] = [];
  const open = new Set<Http2Session>();
  let sessions = 0;
  server.on('session', (session) => {
    sessions++;
    open.add(session);
    session.on('close', () => open.delete(session));
  });
  server.on('stream', (stream, headers) => {
    requests.push(headers);
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => handle(stream, String(headers[':path']), Buffer.concat(chunks).subarray(5)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    sessions: () => sessions,
    close: async () => {
      for (const session of open) session.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('the direct gRPC channel (grpc-unary.ts) against a fake HTTP/2 server', () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function setUp(handle: (stream: ServerHttp2Stream, path: string, body: Buffer) => void) {
    const server = await fakeServer(handle);
    const channel = new GrpcUnaryChannel([server.endpoint]);
    cleanups.push(
      () => server.close(),
      () => channel.close(),
    );
    return { server, channel };
  }

  it("sends gRPC's headers and framing and resolves to the answer's message", async () => {
    const { server, channel } = await setUp((stream, _path, body) => answer(stream, framed(Buffer.from(body.toString().toUpperCase()))));
    const reply = await channel.call('/etcdserverpb.KV/Txn', Buffer.from('txn'), 2000);
    expect(reply.toString()).toBe('TXN');
    const [headers] = server.requests;
    expect(headers).toMatchObject({
      ':method': 'POST',
      ':path': '/etcdserverpb.KV/Txn',
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    expect(headers?.['grpc-timeout']).toBe('2000m');
    // gRPC allows at most 8 digits: a long timeout goes in seconds.
    await channel.call('/x', Buffer.alloc(0), 2 ** 31 - 1);
    expect(server.requests[1]?.['grpc-timeout']).toBe('2147484S');
  });

  it('an answer that is only an error (grpc-status in the headers) rejects with its code and its percent-decoded message', async () => {
    const { channel } = await setUp((stream) =>
      stream.respond(
        { ...OK, 'grpc-status': '5', 'grpc-message': encodeURIComponent('etcdserver: requested lease not found') },
        { endStream: true },
      ),
    );
    const err = await channel.call('/etcdserverpb.KV/Txn', Buffer.from('x'), 2000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GrpcCallError);
    expect(err).toMatchObject({ code: 5, details: 'etcdserver: requested lease not found' });
  });

  it('a GOAWAY during a call: the call is still answered, and the next call opens a new session', async () => {
    let calls = 0;
    const { server, channel } = await setUp((stream, _path, body) => {
      calls++;
      // The server says it takes no new streams after this one, then answers this one.
      if (calls === 1) stream.session?.goaway(0, stream.id);
      answer(stream, framed(body));
    });
    expect((await channel.call('/a', Buffer.from('one'), 2000)).toString()).toBe('one');
    expect((await channel.call('/a', Buffer.from('two'), 2000)).toString()).toBe('two');
    expect(server.sessions()).toBe(2);
  });

  it('a silent server: the call rejects DEADLINE_EXCEEDED at its deadline and the session is dropped (the next call connects again)', async () => {
    const { server, channel } = await setUp(() => undefined); // never answers
    const started = performance.now();
    const err = await channel.call('/a', Buffer.from('x'), 300).catch((e: unknown) => e);
    console.log(`silent server: DEADLINE_EXCEEDED after ${(performance.now() - started).toFixed(0)} ms (deadline 300)`);
    expect(err).toMatchObject({ code: 4 });
    await channel.call('/a', Buffer.from('x'), 300).catch(() => undefined);
    expect(server.sessions()).toBe(2);
  });

  it('a malformed answer (its length prefix wrong) is refused as UNAVAILABLE, not returned', async () => {
    const { channel } = await setUp((stream) => {
      const bad = framed(Buffer.from('abc'));
      bad.writeUInt32BE(10, 1);
      answer(stream, bad);
    });
    expect(await channel.call('/a', Buffer.from('x'), 2000).catch((e: unknown) => e)).toMatchObject({ code: 14 });
  });

  it('an endpoint that accepts TCP and never speaks HTTP/2 is given up after a third of the call (UNAVAILABLE, so the caller retries elsewhere)', async () => {
    const sockets = new Set<Socket>();
    const mute = createTcpServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => mute.listen(0, '127.0.0.1', resolve));
    cleanups.push(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => mute.close(resolve));
    });
    const channel = new GrpcUnaryChannel([`http://127.0.0.1:${(mute.address() as AddressInfo).port}`]);
    cleanups.push(() => channel.close());
    const err = await channel.call('/a', Buffer.from('x'), 3000).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 14 });
  });

  it('a refused port rejects UNAVAILABLE; a closed channel rejects CANCELLED (not worth a retry)', async () => {
    const gone = createTcpServer();
    await new Promise<void>((resolve) => gone.listen(0, '127.0.0.1', resolve));
    const { port } = gone.address() as AddressInfo;
    await new Promise((resolve) => gone.close(resolve));
    const channel = new GrpcUnaryChannel([`http://127.0.0.1:${port}`]);
    expect(await channel.call('/a', Buffer.from('x'), 2000).catch((e: unknown) => e)).toMatchObject({ code: 14 });
    channel.close();
    expect(await channel.call('/a', Buffer.from('x'), 2000).catch((e: unknown) => e)).toMatchObject({ code: 1 });
  });
});
