// IDs (API.md "IDs"), for both implementations: Snowflake layouts and parsing, UUIDv7,
// clocks stepping back, sequence exhaustion, worker IDs and leases across processes.
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify, validate, version } from 'uuid';
import { describe, expect, it } from 'vitest';
import { IMPLEMENTATIONS, load } from './helpers/impls';
import { startFixture } from './helpers/spawn';
import { tempDir } from './helpers/tmp';

type Api = ReturnType<typeof load>;
type Snowflake = InstanceType<Api['Snowflake']>;

const EPOCH_2024 = Date.UTC(2024, 0, 1);
const DISCORD_EPOCH = 1420070400000;
/** The test-only clock hook (not public API): steps a generator's clock by `ms`. */
const CLOCK_OFFSET = Symbol.for('concurrent-fs.test.snowflakeClockOffset');

function setClockOffset(snowflake: Snowflake, ms: number): void {
  (snowflake as unknown as Record<symbol, (ms: number) => void>)[CLOCK_OFFSET]!(ms);
}

/**
 * How far an ID's time may read from Date.now(). The generators' clock is the wall clock
 * at first use plus monotonic time since (an NTP step changes nothing), so the two drift
 * apart by the NTP slew (at most 500 ppm) for as long as the process runs, and a busy
 * machine can delay the reads around a mint. A wrong epoch or unit is off by far more.
 */
function clockToleranceMs(): number {
  return 25 + process.uptime() * 1000 * 0.0005;
}

/** Checks that `stampMs` lies within [before, after] (ms), up to the clocks' tolerance. */
function expectCurrentTime(stampMs: number, before: number, after: number): void {
  const tolerance = clockToleranceMs();
  expect(stampMs).toBeGreaterThanOrEqual(before - tolerance);
  expect(stampMs).toBeLessThanOrEqual(after + tolerance);
}

function expectStrictlyIncreasing(ids: ArrayLike<bigint | string>): void {
  for (let i = 1; i < ids.length; i++) {
    if (!(ids[i - 1]! < ids[i]!)) expect.fail(`not increasing at ${i}: ${ids[i - 1]} then ${ids[i]}`);
  }
}

function expectCode(fn: () => unknown, type: ErrorConstructor, code: string): void {
  let error: unknown;
  try {
    fn();
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(type);
  expect((error as { code?: string }).code).toBe(code);
}

describe.each(IMPLEMENTATIONS)('IDs (%s)', (impl) => {
  const api = load(impl);
  describe('Snowflake layouts', () => {
    it('twitter: a published ID parses to its documented fields', () => {
      // Discord's docs: 175928847299117063 is 41944705796 ms after its epoch, worker 1,
      // process 0 (our 10-bit worker field: 1 << 5 | 0), increment 7.
      const parts = api.Snowflake.parse(175928847299117063n, { epoch: DISCORD_EPOCH });
      expect(parts).toEqual({
        timestamp: DISCORD_EPOCH + 41944705796,
        date: new Date(DISCORD_EPOCH + 41944705796),
        workerId: 32,
        sequence: 7,
      });
      expect(api.Snowflake.parse('175928847299117063', { epoch: DISCORD_EPOCH })).toEqual(parts);
    });

    it('twitter: fixed fields encode as time << 22 | worker << 12 | sequence, and parse back', () => {
      const id = 1000n * 2n ** 22n + 7n * 2n ** 12n + 1n;
      expect(api.Snowflake.parse(id)).toMatchObject({ timestamp: EPOCH_2024 + 1000, workerId: 7, sequence: 1 });
      const snowflake = new api.Snowflake({ workerId: 7 });
      for (const minted of [snowflake.next(), ...snowflake.nextBatch(100)]) {
        const { timestamp, workerId, sequence } = snowflake.parse(minted);
        expect(BigInt(timestamp - EPOCH_2024) * 2n ** 22n + BigInt(workerId) * 2n ** 12n + BigInt(sequence)).toBe(minted);
        expect(workerId).toBe(7);
      }
    });

    it('sonyflake: 10 ms units, time << 24 | sequence << 16 | machine, bit for bit', () => {
      const id = 12345n * 2n ** 24n + 0xcdn * 2n ** 16n + 0xbeefn;
      const epoch = Date.UTC(2014, 8, 1); // Sonyflake v1's default start time
      expect(api.Snowflake.parse(id, { layout: 'sonyflake', epoch })).toMatchObject({
        timestamp: epoch + 123450,
        workerId: 0xbeef,
        sequence: 0xcd,
      });
      const snowflake = new api.Snowflake({ workerId: 0xbeef, layout: 'sonyflake', epoch });
      const before = Date.now();
      const minted = snowflake.nextBatch(300); // more than one unit's 256 sequence numbers
      expectStrictlyIncreasing(minted);
      for (const value of minted) {
        const { timestamp, workerId, sequence } = snowflake.parse(value);
        expect((timestamp - epoch) % 10).toBe(0);
        expect(BigInt((timestamp - epoch) / 10) * 2n ** 24n + BigInt(sequence) * 2n ** 16n + BigInt(workerId)).toBe(value);
        expect(timestamp).toBeGreaterThanOrEqual(before - 10 - clockToleranceMs());
      }
    });

    it('custom layouts are time | worker | sequence with their own time unit', () => {
      const layout = { timeBits: 40, workerBits: 8, sequenceBits: 15, timeUnitMs: 4 };
      const id = 5n * 2n ** 23n + 6n * 2n ** 15n + 7n;
      expect(api.Snowflake.parse(id, { layout, epoch: 0 })).toMatchObject({ timestamp: 20, workerId: 6, sequence: 7 });
      const snowflake = new api.Snowflake({ workerId: 200, layout, epoch: new Date(EPOCH_2024) });
      expect(snowflake.epoch).toBe(EPOCH_2024);
      expect(snowflake.parse(snowflake.next()).workerId).toBe(200);
    });

    it('IDs carry the current time', () => {
      const snowflake = new api.Snowflake({ workerId: 1 });
      const before = Date.now();
      const { timestamp } = snowflake.parse(snowflake.nextString());
      expectCurrentTime(timestamp, before, Date.now());
    });
  });

  describe('Snowflake generation', () => {
    it('an ID is never older than the millisecond it is handed out in', () => {
      const snowflake = new api.Snowflake({ workerId: 4 });
      for (let round = 0; round < 20; round++) {
        for (let i = 0; i < round * 10; i++) snowflake.next(); // fill any cache there is
        const start = Date.now();
        while (Date.now() < start + 2) {} // let the millisecond of those IDs pass
        // A UUIDv7 reads the generators' clock afresh (no cache), so it is the reference.
        const now = api.uuidv7Timestamp(api.uuidv7());
        expect(snowflake.parse(snowflake.next()).timestamp).toBeGreaterThanOrEqual(now - 1);
      }
    });

    it('3 x 4096 IDs asked for at once (twitter) wait for new milliseconds and stay unique and increasing', () => {
      const snowflake = new api.Snowflake({ workerId: 3 });
      for (const ids of [snowflake.nextBatch(3 * 4096), Array.from({ length: 3 * 4096 }, () => snowflake.next())]) {
        expectStrictlyIncreasing(ids);
        const perMs = new Map<number, number>();
        for (const id of ids) {
          const { timestamp } = snowflake.parse(id);
          perMs.set(timestamp, (perMs.get(timestamp) ?? 0) + 1);
        }
        expect(perMs.size).toBeGreaterThanOrEqual(3);
        expect(Math.max(...perMs.values())).toBeLessThanOrEqual(4096);
      }
    });

    it('next(), nextString() and nextBatch() share one increasing sequence', () => {
      const snowflake = new api.Snowflake({ workerId: 9 });
      const ids: bigint[] = [];
      for (let round = 0; round < 200; round++) {
        ids.push(snowflake.next(), BigInt(snowflake.nextString()), ...snowflake.nextBatch(round % 7));
      }
      expectStrictlyIncreasing(ids);
      expect(snowflake.nextBatch(0)).toEqual(new BigUint64Array(0));
    });

    it("a clock stepping back is waited out ('wait'): no repeat, no decrease", () => {
      const snowflake = new api.Snowflake({ workerId: 2 });
      const ids = [...snowflake.nextBatch(1000), snowflake.next()];
      setClockOffset(snowflake, -40);
      ids.push(snowflake.next(), ...snowflake.nextBatch(1000), snowflake.next());
      setClockOffset(snowflake, -80);
      for (let i = 0; i < 1000; i++) ids.push(snowflake.next());
      expectStrictlyIncreasing(ids);
    });

    it('an epoch of Date.now() is never in the future: the first ID mints at once, at the epoch or after', () => {
      // Date.now() is in whole ms and the generators' clock in µs: it may read a fraction of
      // that ms before the epoch, and a busy machine once anchored it milliseconds behind.
      for (let i = 0; i < 2000; i++) {
        const epoch = Date.now();
        const snowflake = new api.Snowflake({ workerId: i % 1024, epoch });
        expect(snowflake.parse(snowflake.next()).timestamp).toBeGreaterThanOrEqual(epoch);
      }
    });

    it("'wait' is bounded: a clock far behind throws instead of stalling", () => {
      const snowflake = new api.Snowflake({ workerId: 2 });
      const last = snowflake.next();
      setClockOffset(snowflake, -5000);
      expectCode(() => snowflake.next(), api.ClockBackwardsError as unknown as ErrorConstructor, 'ECLOCKBACKWARDS');
      setClockOffset(snowflake, 0);
      expect(snowflake.next()).toBeGreaterThan(last);
    });

    it("'throw' throws ClockBackwardsError, and carries on once the clock is back", () => {
      const snowflake = new api.Snowflake({ workerId: 2, clockBackwards: 'throw' });
      const last = snowflake.next();
      setClockOffset(snowflake, -30);
      expectCode(() => snowflake.next(), api.ClockBackwardsError as unknown as ErrorConstructor, 'ECLOCKBACKWARDS');
      expectCode(() => snowflake.nextBatch(10), api.ClockBackwardsError as unknown as ErrorConstructor, 'ECLOCKBACKWARDS');
      setClockOffset(snowflake, 0);
      expect(snowflake.next()).toBeGreaterThan(last);
    });

    it('the clock hook is not part of the public API', () => {
      const methods = Object.getOwnPropertyNames(Object.getPrototypeOf(api.Snowflake.prototype));
      expect(methods.sort()).toEqual(['constructor', 'next', 'nextBatch', 'nextString', 'parse']);
      expect(Object.keys(new api.Snowflake({ workerId: 0 })).sort()).toEqual(['epoch', 'workerId']);
    });
  });

  describe('UUIDv7', () => {
    it('every UUID is valid, version 7, lowercase', () => {
      const all = [api.uuidv7(), ...api.uuidv7Batch(1000), stringify(api.uuidv7Bytes())];
      for (const uuid of all) {
        expect(validate(uuid)).toBe(true);
        expect(version(uuid)).toBe(7);
        expect(uuid).toBe(uuid.toLowerCase());
      }
    });

    it('1,000,000 uuidv7() in one process are strictly increasing as strings', () => {
      const uuids = new Array<string>(1_000_000);
      for (let i = 0; i < uuids.length; i++) uuids[i] = api.uuidv7();
      expectStrictlyIncreasing(uuids);
    });

    it('uuidv7Batch, uuidv7Bytes and uuidv7 continue one increasing sequence', () => {
      const first = api.uuidv7();
      const batch = api.uuidv7Batch(10_000);
      const bytes = stringify(api.uuidv7Bytes());
      const last = api.uuidv7();
      expect(batch).toHaveLength(10_000);
      expectStrictlyIncreasing([first, ...batch, bytes, last]);
      expect(api.uuidv7Batch(0)).toEqual([]);
    });

    it('uuidv7Timestamp reads the RFC 9562 example and fresh UUIDs', () => {
      // RFC 9562 Appendix A.6: Tuesday, February 22, 2022 2:22:22.00 PM GMT-05:00.
      expect(api.uuidv7Timestamp('017F22E2-79B0-7CC3-98C4-DC0C0C07398F')).toBe(0x017f22e279b0);
      expect(new Date(0x017f22e279b0).toISOString()).toBe('2022-02-22T19:22:22.000Z');
      const before = Date.now();
      expectCurrentTime(api.uuidv7Timestamp(api.uuidv7()), before, Date.now());
    });
  });

  describe('worker IDs', () => {
    it('machineWorkerId is in range and stable within the process', () => {
      const id = api.machineWorkerId();
      expect(id).toBeGreaterThanOrEqual(0);
      expect(id).toBeLessThan(1024);
      expect(api.machineWorkerId(10)).toBe(id);
      expect(api.machineWorkerId(16)).toBeLessThan(65536);
      expect(api.machineWorkerId(53)).toBeLessThanOrEqual(Number.MAX_SAFE_INTEGER);
    });
  });

  describe('bad arguments', () => {
    const S = api.Snowflake as unknown as new (options?: unknown) => Snowflake;
    const range = RangeError as ErrorConstructor;

    it('worker IDs out of range, fractional or NaN are ERR_OUT_OF_RANGE; non-numbers ERR_INVALID_ARG_TYPE', () => {
      for (const workerId of [1024, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
        expectCode(() => new S({ workerId }), range, 'ERR_OUT_OF_RANGE');
      }
      expectCode(() => new S({ workerId: 65536, layout: 'sonyflake' }), range, 'ERR_OUT_OF_RANGE');
      expectCode(() => new S({ workerId: '1' }), TypeError, 'ERR_INVALID_ARG_TYPE');
      expectCode(() => new S({}), TypeError, 'ERR_INVALID_ARG_TYPE');
      expectCode(() => new S(), TypeError, 'ERR_INVALID_ARG_TYPE');
    });

    it('layouts over 63 bits or with a zero-bit field are ERR_OUT_OF_RANGE', () => {
      const bad = [
        { timeBits: 42, workerBits: 10, sequenceBits: 12 },
        { timeBits: 41, workerBits: 0, sequenceBits: 12 },
        { timeBits: 41, workerBits: 10, sequenceBits: 0 },
        { timeBits: 0, workerBits: 10, sequenceBits: 12 },
        { timeBits: 41, workerBits: 10, sequenceBits: 12, timeUnitMs: 0 },
      ];
      for (const layout of bad) expectCode(() => new S({ workerId: 0, layout }), range, 'ERR_OUT_OF_RANGE');
      expectCode(() => new S({ workerId: 0, layout: 'discord' }), TypeError, 'ERR_INVALID_ARG_VALUE');
    });

    it('epoch, clockBackwards and counts are checked', () => {
      expectCode(() => new S({ workerId: 0, epoch: Date.now() + 60_000 }), range, 'ERR_OUT_OF_RANGE');
      expectCode(() => new S({ workerId: 0, epoch: new Date(Number.NaN) }), range, 'ERR_OUT_OF_RANGE');
      expectCode(() => new S({ workerId: 0, epoch: '2024' }), TypeError, 'ERR_INVALID_ARG_TYPE');
      expectCode(() => new S({ workerId: 0, clockBackwards: 'ignore' }), TypeError, 'ERR_INVALID_ARG_VALUE');
      const snowflake = new api.Snowflake({ workerId: 0 });
      expectCode(() => snowflake.nextBatch(-1), range, 'ERR_OUT_OF_RANGE');
      expectCode(() => snowflake.nextBatch(2.5), range, 'ERR_OUT_OF_RANGE');
      expectCode(() => api.uuidv7Batch(-1), range, 'ERR_OUT_OF_RANGE');
      expectCode(() => api.machineWorkerId(0), range, 'ERR_OUT_OF_RANGE');
      expectCode(() => api.machineWorkerId(54), range, 'ERR_OUT_OF_RANGE');
      expectCode(() => api.machineWorkerId('10' as unknown as number), TypeError, 'ERR_INVALID_ARG_TYPE');
    });

    it('parse rejects what is not an ID of the layout', () => {
      expectCode(() => api.Snowflake.parse('12a'), TypeError, 'ERR_INVALID_ARG_VALUE');
      expectCode(() => api.Snowflake.parse(-1n), range, 'ERR_OUT_OF_RANGE');
      expectCode(() => api.Snowflake.parse(2n ** 64n), range, 'ERR_OUT_OF_RANGE');
      expectCode(() => api.Snowflake.parse(2n ** 63n), range, 'ERR_OUT_OF_RANGE');
      expectCode(() => api.Snowflake.parse(1 as unknown as bigint), TypeError, 'ERR_INVALID_ARG_TYPE');
    });

    it('uuidv7Timestamp of anything but a UUIDv7 is ERR_INVALID_ARG_VALUE', () => {
      for (const text of ['919108f7-52d1-4320-9bac-f847db4148a8', '017f22e2-79b0-7cc3-58c4-dc0c0c07398f', 'nope', '']) {
        expectCode(() => api.uuidv7Timestamp(text), TypeError, 'ERR_INVALID_ARG_VALUE');
      }
      expectCode(() => api.uuidv7Timestamp(42 as unknown as string), TypeError, 'ERR_INVALID_ARG_TYPE');
    });

    it('leaseWorkerId checks its arguments before touching the disk', async () => {
      await expect(api.leaseWorkerId(tempDir('cfs-ids'), { bits: 17 })).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
      await expect(api.leaseWorkerId(tempDir('cfs-ids'), { bits: 0 })).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
      await expect(api.leaseWorkerId(42 as unknown as string)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
      await expect(api.leaseWorkerId(tempDir('cfs-ids'), { timeout: -1 })).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    });
  });

  describe('many processes', () => {
    const PROCESSES = 8;
    const PER_PROCESS = 200_000;

    async function mintInChildren(source: (i: number) => string): Promise<{ workerIds: number[]; ids: BigUint64Array }> {
      const dir = tempDir('cfs-ids');
      const children = Array.from({ length: PROCESSES }, (_, i) =>
        startFixture('ids-mint.cjs', [impl, source(i), PER_PROCESS, join(dir, `ids-${i}.bin`)]),
      );
      // Each child reports, then holds its worker ID until every child has reported.
      const reports = await Promise.all(children.map((child) => child.nextLine()));
      for (const child of children) child.process.stdin.end();
      const runs = await Promise.all(children.map((child) => child.exited));
      const all = new BigUint64Array(PROCESSES * PER_PROCESS);
      const workerIds: number[] = [];
      runs.forEach((run, i) => {
        expect(run.stderr).toBe('');
        expect(run.code).toBe(0);
        const { workerId } = JSON.parse(reports[i]!) as { workerId: number };
        workerIds.push(workerId);
        const bytes = readFileSync(join(dir, `ids-${i}.bin`));
        const ids = new BigUint64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);
        expect(ids.length).toBe(PER_PROCESS);
        expectStrictlyIncreasing(ids);
        expect(api.Snowflake.parse(ids[0]!).workerId).toBe(workerId);
        all.set(ids, i * PER_PROCESS);
      });
      return { workerIds, ids: all };
    }

    function duplicates(ids: BigUint64Array): number {
      const sorted = ids.slice().sort();
      let count = 0;
      for (let i = 1; i < sorted.length; i++) if (sorted[i] === sorted[i - 1]) count++;
      return count;
    }

    it('8 processes leasing worker IDs from one directory get distinct IDs and mint 1,600,000 distinct IDs', async () => {
      const dir = tempDir('cfs-ids');
      const { workerIds, ids } = await mintInChildren(() => `lease:${dir}`);
      expect(new Set(workerIds).size).toBe(PROCESSES);
      expect(duplicates(ids)).toBe(0);
    });
  });

  describe('leaseWorkerId', () => {
    it('gives the lowest free ID and reuses a released one', async () => {
      const dir = join(tempDir('cfs-ids'), 'made', 'if', 'missing');
      const a = await api.leaseWorkerId(dir);
      const b = await api.leaseWorkerId(dir);
      expect([a.id, b.id]).toEqual([0, 1]);
      a.release();
      a.release(); // a second release does nothing
      const c = await api.leaseWorkerId(dir);
      expect(c.id).toBe(0);
      b[Symbol.dispose]();
      c.release();
    });

    it('rejects with LockTimeoutError (path = dir) when every ID is taken', async () => {
      const dir = tempDir('cfs-ids');
      const held = [await api.leaseWorkerId(dir, { bits: 1 }), await api.leaseWorkerId(dir, { bits: 1 })];
      await expect(api.leaseWorkerId(dir, { bits: 1 })).rejects.toMatchObject({ name: 'LockTimeoutError', path: dir, timeout: 0 });
      await expect(api.leaseWorkerId(dir, { bits: 1, timeout: 30 })).rejects.toBeInstanceOf(api.LockTimeoutError);
      // A waiter gets the ID released while it waits (if the release comes before its
      // first look, it gets the ID all the same: the timer only makes a wait likely).
      const waiting = api.leaseWorkerId(dir, { bits: 1, timeout: 10_000 });
      setTimeout(() => held[1]!.release(), 20);
      expect((await waiting).id).toBe(1);
      held[0]!.release();
    });

    it("a SIGKILLed holder's ID is leased again by the next process", async () => {
      const dir = tempDir('cfs-ids');
      const first = startHolder(impl, dir);
      expect(await first.workerId).toBe(0);
      const second = startHolder(impl, dir);
      expect(await second.workerId).toBe(1);
      const exited = new Promise((resolve) => first.child.once('exit', resolve));
      first.child.kill('SIGKILL');
      await exited;
      const third = startHolder(impl, dir);
      expect(await third.workerId).toBe(0);
      second.child.kill('SIGKILL');
      third.child.kill('SIGKILL');
    });
  });
});

/** A child that leases an ID and holds it until killed; resolves its ID when it has it. */
function startHolder(impl: string, dir: string): { child: ChildProcess; workerId: Promise<number> } {
  const holder = startFixture('ids-lease-hold.cjs', [impl, dir]);
  const workerId = holder.nextLine().then((line) => (JSON.parse(line) as { workerId: number }).workerId);
  return { child: holder.process, workerId };
}
