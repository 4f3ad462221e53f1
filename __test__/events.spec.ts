// EventLog as a history checker: appender processes (with large records) are SIGKILLed
// at random moments while the test reads the log over and over. Every read must be a
// gapless prefix 1..n of whole records; at the end every acknowledged append is there
// exactly once with the seq it was acknowledged with, and `seq` is contiguous.
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IMPLEMENTATIONS, load } from './helpers/impls';
import { startFixture, startNode } from './helpers/spawn';
import { tempDir } from './helpers/tmp';

const APPENDERS = 4;
const APPENDS = 60;
const VICTIMS = 2;

interface Appended {
  acked: Map<string, number>;
  killed: number;
}

async function runAppenders(impl: string, path: string): Promise<Appended> {
  const result: Appended = { acked: new Map(), killed: 0 };
  const runOne = async (w: number) => {
    const victimAt = w < VICTIMS ? 3 + Math.floor(Math.random() * (APPENDS - 6)) : -1;
    const role = victimAt >= 0 ? ['victim'] : [];
    const child = startFixture('event-appender.cjs', [impl, path, w, APPENDS, ...role]);
    child.onLine((line) => {
      const [kind, token, seq] = line.split(' ') as [string, string, string?];
      if (kind === 'ack') result.acked.set(token, Number(seq));
      // Kill on a random large append, 0-2 ms into it: often mid-write.
      if (kind === 'try' && Number(token.split('-')[1]) === victimAt) setTimeout(() => child.process.kill('SIGKILL'), Math.random() * 2);
    });
    const end = await child.exited;
    if (end.signal === 'SIGKILL' && victimAt >= 0) result.killed++;
    else if (end.code !== 0) throw new Error(`appender ${w} failed (${end.code ?? end.signal}): ${end.stderr}`);
  };
  await Promise.all(Array.from({ length: APPENDERS }, (_, w) => runOne(w)));
  return result;
}

describe.each(IMPLEMENTATIONS)('EventLog (%s)', (impl) => {
  const { EventLog } = load(impl);

  async function readAll(path: string) {
    const events: { seq: number; data: { token: string; pad: string } }[] = [];
    for await (const e of new EventLog(path).read()) events.push(e as (typeof events)[number]);
    return events;
  }

  it(`${APPENDERS} appenders x ${APPENDS} (large records too), ${VICTIMS} SIGKILLed: reads are gapless prefixes, acked appends there once`, async () => {
    const path = join(tempDir('events'), 'events.log');
    let running = true;
    const appending = runAppenders(impl, path).finally(() => {
      running = false;
    });
    const badReads: string[] = [];
    let reads = 0;
    while (running) {
      const events = await readAll(path);
      reads++;
      events.forEach((e, i) => {
        if (e.seq !== i + 1) badReads.push(`read ${reads}: seq ${e.seq} at position ${i + 1}`);
        const index = Number(e.data.token.split('-')[1]);
        if (e.data.pad.length !== (index % 3 === 0 ? 256 * 1024 : 0)) badReads.push(`read ${reads}: ${e.data.token} has a torn pad`);
      });
    }
    const { acked, killed } = await appending;
    expect(killed).toBe(VICTIMS);
    expect(badReads).toEqual([]);
    const events = await readAll(path);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    const tokens = events.map((e) => e.data.token);
    expect(new Set(tokens).size).toBe(tokens.length); // nothing twice
    for (const [token, seq] of acked) expect(events[seq - 1]?.data.token).toBe(token);
    expect(acked.size).toBeGreaterThanOrEqual((APPENDERS - VICTIMS) * APPENDS);
  }, 120_000);

  it('a torn tail left by a killed appender is cut by the next append and never read', async () => {
    const path = join(tempDir('events'), 'events.log');
    const log = new EventLog(path, { durability: 'none' });
    await log.append({ n: 1 });
    const whole = readFileSync(path);
    appendFileSync(path, whole.subarray(0, whole.length - 3)); // a record cut short
    expect((await readAll(path)).map((e) => e.seq)).toEqual([1]);
    expect(await new EventLog(path).append({ n: 2 })).toEqual({ seq: 2 });
    const events = await readAll(path);
    expect(events.map((e) => [e.seq, e.data])).toEqual([
      [1, { n: 1 }],
      [2, { n: 2 }],
    ]);
    writeFileSync(path, Buffer.concat([readFileSync(path), Buffer.from('garbage that is no frame')]));
    expect(await log.append({ n: 3 })).toEqual({ seq: 3 });
    expect((await readAll(path)).map((e) => e.seq)).toEqual([1, 2, 3]);
  });

  it('a record header split by the 64 KiB read chunk is read whole, and a new appender keeps every record', async () => {
    // Readers read the log in 64 KiB chunks. Size a first record so that the second one's
    // 20-byte header starts 10 bytes before the chunk's end: the reader must read on,
    // not stop there as if at a torn tail (and an appender must not cut the log there).
    const path = join(tempDir('events'), 'events.log');
    const probe = join(tempDir('events'), 'probe.log');
    await new EventLog(probe, { durability: 'none' }).append({ pad: '' });
    const overhead = readFileSync(probe).length; // frame of an empty pad
    const log = new EventLog(path, { durability: 'none' });
    await log.append({ pad: 'x'.repeat(64 * 1024 - 10 - overhead) });
    expect(readFileSync(path).length).toBe(64 * 1024 - 10);
    for (let n = 2; n <= 5; n++) await log.append({ pad: '' });
    expect((await readAll(path)).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(await new EventLog(path, { durability: 'none' }).append({ pad: '' })).toEqual({ seq: 6 });
    expect((await readAll(path)).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("tail sees another process's appends as they come, from 'end' or a seq; abort rejects", async () => {
    const path = join(tempDir('events'), 'events.log');
    const log = new EventLog(path, { durability: 'none' });
    await log.append('old');
    const controller = new AbortController();
    const seen: unknown[] = [];
    const tailing = (async () => {
      for await (const e of log.tail({ from: 'end', signal: controller.signal })) {
        seen.push(e.data);
        if (seen.length === 2) controller.abort();
      }
    })();
    tailing.catch(() => {}); // it rejects (aborted) before the assertion below looks
    const run = await startNode(
      `const { EventLog } = require('./dist/${impl}.js'); const l = new EventLog(${JSON.stringify(path)}); l.append('a').then(() => l.append('b'));`,
    ).exited;
    expect(run.code).toBe(0);
    await expect(tailing).rejects.toMatchObject({ name: 'AbortError' });
    expect(seen).toEqual(['a', 'b']);
    const fromTwo: unknown[] = [];
    const again = new AbortController();
    await expect(
      (async () => {
        for await (const e of log.tail({ from: 2, signal: again.signal })) {
          fromTwo.push(e.data);
          if (fromTwo.length === 2) again.abort();
        }
      })(),
    ).rejects.toMatchObject({ name: 'AbortError' });
    expect(fromTwo).toEqual(['a', 'b']);
  });

  it('a consumer resumes after its last ack, also in another process', async () => {
    const path = join(tempDir('events'), 'events.log');
    const log = new EventLog(path, { durability: 'none' });
    for (const data of ['a', 'b', 'c']) await log.append(data);
    const run = await startNode(
      `const { EventLog } = require('./dist/${impl}.js');
       (async () => { const c = new EventLog(${JSON.stringify(path)}).consumer('alice');
         for await (const e of c) { console.log(e.data); await c.ack(e.seq); if (e.seq === 2) break; } })();`,
    ).exited;
    expect({ code: run.code, out: run.stdout }).toEqual({ code: 0, out: 'a\nb\n' });
    const alice = log.consumer('alice');
    expect(await alice.position()).toBe(2);
    for await (const e of alice) {
      expect([e.seq, e.data]).toEqual([3, 'c']);
      break;
    }
    const bob = log.consumer('bob');
    for await (const e of bob) {
      expect(e.seq).toBe(1); // a new name starts at the beginning
      break;
    }
  });
});
