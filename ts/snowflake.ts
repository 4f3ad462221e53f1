// Snowflake: options checking, the public class and parsing, over an implementation's
// generator engine.
import { invalidArgType, invalidArgValue, outOfRange } from './errors';
import type { IdBackend, SnowflakeEngine, SnowflakeLayout } from './id-backend';
import { toOptions } from './validate';

/** A custom layout, ordered time | worker | sequence (most significant first). */
export interface CustomSnowflakeLayout {
  /** Width of the time field. */
  timeBits: number;
  /** Width of the worker field. */
  workerBits: number;
  /** Width of the per-time-unit sequence. */
  sequenceBits: number;
  /** Length of one time step in ms. Default 1. */
  timeUnitMs?: number;
}

/**
 * A Snowflake bit layout: `'twitter'` (41-bit ms, 10-bit worker, 12-bit sequence), `'sonyflake'` (39-bit 10 ms units, 8-bit sequence, 16-bit machine), or custom.
 */
export type SnowflakeLayoutOption = 'twitter' | 'sonyflake' | CustomSnowflakeLayout;

/**
 * A worker ID from a lease: `leaseWorkerId`'s `WorkerLease`, or a lease that can be lost
 * (`concurrent-fs/etcd`'s), whose `assertHeld` the generator calls before minting.
 */
export interface LeasedWorkerId {
  /** The worker ID the lease holds. */
  readonly id: number;
  /** Throws (LeaseLostError) once IDs may no longer be minted under the lease. */
  assertHeld?(): void;
}

/** Options of `new Snowflake(options)`: `workerId` is required. */
export interface SnowflakeOptions {
  /** This generator's worker ID, distinct among live generators (see `leaseWorkerId`), or the lease that holds it. Required. */
  workerId: number | LeasedWorkerId;
  /** When the time field is zero. Default 2024-01-01T00:00:00Z. */
  epoch?: number | Date;
  /** Default `'twitter'`. */
  layout?: SnowflakeLayoutOption;
  /** On a clock that steps back: wait it out (up to 1 s) or throw. Default `'wait'`. */
  clockBackwards?: 'wait' | 'throw';
}

/**
 * How to read an ID in `Snowflake.parse`: the epoch and layout it was minted with (defaults as `SnowflakeOptions`).
 */
export interface SnowflakeParseOptions {
  /** Default 2024-01-01T00:00:00Z. */
  epoch?: number | Date;
  /** Default `'twitter'`. */
  layout?: SnowflakeLayoutOption;
}

/** The fields of a Snowflake ID, from `parse`. */
export interface SnowflakeParts {
  /** Unix ms of the ID's time unit (its start). */
  timestamp: number;
  /** `timestamp` as a `Date`. */
  date: Date;
  /** The worker (machine) field: the `workerId` of the generator that minted it. */
  workerId: number;
  /** The sequence field: the ID's number within its time unit and worker, from 0. */
  sequence: number;
}

export const DEFAULT_EPOCH = Date.UTC(2024, 0, 1);

const LAYOUTS: Record<'twitter' | 'sonyflake', SnowflakeLayout> = {
  twitter: { timeBits: 41, workerBits: 10, sequenceBits: 12, timeUnitMs: 1, order: 'time-worker-sequence' },
  sonyflake: { timeBits: 39, workerBits: 16, sequenceBits: 8, timeUnitMs: 10, order: 'time-sequence-worker' },
};

/** A unit longer than a day would make the time field meaningless as a timestamp. */
const MAX_TIME_UNIT_MS = 86_400_000;

/** Largest `nextBatch` / `uuidv7Batch` count: 128 MiB of IDs in one array. */
export const MAX_BATCH = 2 ** 24;

function toIntegerIn(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw outOfRange(name, `an integer >= ${min} and <= ${max}`, value);
  }
  return value;
}

export function toCount(value: unknown, name = 'count'): number {
  return toIntegerIn(value, name, 0, MAX_BATCH);
}

export function toLayout(value: unknown, name = 'options.layout'): SnowflakeLayout {
  if (value === undefined) return LAYOUTS.twitter;
  if (value === 'twitter' || value === 'sonyflake') return LAYOUTS[value];
  if (typeof value !== 'object' || value === null) {
    throw invalidArgValue(name, value, "must be 'twitter', 'sonyflake' or { timeBits, workerBits, sequenceBits, timeUnitMs }");
  }
  const spec = value as Record<string, unknown>;
  const layout: SnowflakeLayout = {
    timeBits: toIntegerIn(spec.timeBits, `${name}.timeBits`, 1, 61),
    workerBits: toIntegerIn(spec.workerBits, `${name}.workerBits`, 1, 61),
    sequenceBits: toIntegerIn(spec.sequenceBits, `${name}.sequenceBits`, 1, 61),
    timeUnitMs: spec.timeUnitMs === undefined ? 1 : toIntegerIn(spec.timeUnitMs, `${name}.timeUnitMs`, 1, MAX_TIME_UNIT_MS),
    order: 'time-worker-sequence',
  };
  const total = layout.timeBits + layout.workerBits + layout.sequenceBits;
  if (total > 63) throw outOfRange(`${name} (timeBits + workerBits + sequenceBits)`, '<= 63', total);
  return layout;
}

export function toEpoch(value: unknown, name = 'options.epoch'): number {
  if (value === undefined) return DEFAULT_EPOCH;
  const ms = value instanceof Date ? value.getTime() : value;
  if (typeof ms !== 'number') throw invalidArgType(name, 'of type number or an instance of Date', value);
  if (!Number.isSafeInteger(ms)) throw outOfRange(name, 'a valid time in integer ms', value);
  return ms;
}

function toWorkerId(value: unknown, layout: SnowflakeLayout): number {
  const max = Math.min(2 ** layout.workerBits - 1, Number.MAX_SAFE_INTEGER);
  if (typeof value === 'object' && value !== null) return toIntegerIn((value as LeasedWorkerId).id, 'options.workerId.id', 0, max);
  return toIntegerIn(value, 'options.workerId', 0, max);
}

/** The lease to check before minting, if the worker ID came from one that can be lost. */
function toCheckedLease(value: unknown): { assertHeld(): void } | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { assertHeld } = value as LeasedWorkerId;
  if (assertHeld === undefined) return undefined;
  if (typeof assertHeld !== 'function') throw invalidArgType('options.workerId.assertHeld', 'of type function', assertHeld);
  return value as { assertHeld(): void };
}

function toClockBackwards(value: unknown): 'wait' | 'throw' {
  if (value === undefined) return 'wait';
  if (value !== 'wait' && value !== 'throw') throw invalidArgValue('options.clockBackwards', value, "must be 'wait' or 'throw'");
  return value;
}

function toId(value: unknown): bigint {
  let id: bigint;
  if (typeof value === 'bigint') id = value;
  else if (typeof value === 'string' && /^[0-9]{1,20}$/.test(value)) id = BigInt(value);
  else if (typeof value === 'string') throw invalidArgValue('id', value, 'must be a decimal integer');
  else throw invalidArgType('id', 'of type bigint or string', value);
  if (id < 0n || id >= 2n ** 64n) throw outOfRange('id', '>= 0 and < 2 ** 64', value);
  return id;
}

export function parseId(ids: IdBackend, id: unknown, epoch: number, layout: SnowflakeLayout): SnowflakeParts {
  const fields = ids.parseSnowflake(toId(id), layout);
  const timestamp = epoch + fields.time * layout.timeUnitMs;
  return { timestamp, date: new Date(timestamp), workerId: fields.workerId, sequence: fields.sequence };
}

/** Key of the test-only clock hook. Deliberately absent from the types and the docs. */
const TEST_CLOCK_OFFSET = Symbol.for('concurrent-fs.test.snowflakeClockOffset');

/** The `Snowflake` class users get (an interface for the same reason as `FileLockConstructor`). */
export interface SnowflakeConstructor {
  /**
   * A generator for one worker ID.
   * @param options `workerId` (required; `leaseWorkerId` gives a free one), `epoch` (default
   * 2024-01-01 UTC, not in the future), `layout` (default `'twitter'`), `clockBackwards` (default `'wait'`).
   * @throws `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` / `ERR_OUT_OF_RANGE` for bad options
   * (a `workerId` that does not fit the layout's worker field, a layout over 63 bits ...).
   */
  new (options: SnowflakeOptions): SnowflakeBase;
  /** The fields of an ID, for an epoch and layout (default: the constructor's defaults). */
  parse(id: bigint | string, options?: SnowflakeParseOptions): SnowflakeParts;
}

/** A generator of strictly increasing 63-bit IDs for one worker. */
export abstract class SnowflakeBase {
  /** This generator's worker ID, from `options.workerId`. */
  readonly workerId: number;
  /** The epoch as Unix ms (default `Date.UTC(2024, 0, 1)`): the time a zero time field stands for. */
  readonly epoch: number;
  readonly #ids: IdBackend;
  readonly #layout: SnowflakeLayout;
  readonly #engine: SnowflakeEngine;
  readonly #lease: { assertHeld(): void } | undefined;

  protected constructor(ids: IdBackend, options: SnowflakeOptions) {
    if (typeof options !== 'object' || options === null) throw invalidArgType('options', 'of type object', options);
    const opts = toOptions(options);
    this.#layout = toLayout(opts.layout);
    this.workerId = toWorkerId(opts.workerId, this.#layout);
    this.#lease = toCheckedLease(opts.workerId);
    this.epoch = toEpoch(opts.epoch);
    if (this.epoch > Date.now()) throw outOfRange('options.epoch', 'not in the future', options.epoch);
    const clockBackwards = toClockBackwards(opts.clockBackwards);
    this.#ids = ids;
    this.#engine = ids.createSnowflake({ layout: this.#layout, workerId: this.workerId, epoch: this.epoch, clockBackwards });
  }

  /**
   * The next ID, greater than every ID this generator (and any other in this process on the
   * same worker ID, epoch and layout) minted before. Waits for the next time unit when the
   * sequence is used up.
   * @returns The ID, a non-negative 63-bit `bigint`.
   * @throws `ECLOCKBACKWARDS` (`ClockBackwardsError`) when the clock went back further than
   * `clockBackwards: 'wait'` waits out (1 s), or at all with `'throw'`.
   * @example
   * const id = ids.next(); // 384973869259190272n
   */
  next(): bigint {
    this.#lease?.assertHeld();
    return this.#engine.next();
  }

  /**
   * The next ID as a decimal string (for JSON and for consumers without bigint).
   * @returns As `next()`, in decimal.
   * @throws As `next()`.
   */
  nextString(): string {
    return this.next().toString();
  }

  /**
   * `count` IDs in increasing order, minted in one call.
   * @param count How many, 0 to 2^24.
   * @returns The IDs, increasing.
   * @throws As `next()`; `ERR_INVALID_ARG_TYPE` / `ERR_OUT_OF_RANGE` for a bad `count`.
   */
  nextBatch(count: number): BigUint64Array {
    const n = toCount(count);
    if (this.#lease === undefined) return this.#engine.nextBatch(n);
    return this.#leasedBatch(this.#lease, n);
  }

  /** A batch under a lease that can be lost, checked at least once per time unit's worth of IDs (a batch waits for the clock when it outruns the sequence). */
  #leasedBatch(lease: { assertHeld(): void }, count: number): BigUint64Array {
    const out = new BigUint64Array(count);
    const chunk = 2 ** Math.min(this.#layout.sequenceBits, 16);
    for (let at = 0; at < count; at += chunk) {
      lease.assertHeld();
      out.set(this.#engine.nextBatch(Math.min(chunk, count - at)), at);
    }
    return out;
  }

  /**
   * The fields of an ID made with this generator's epoch and layout.
   * @param id The ID, as a `bigint` or a decimal string.
   * @returns Its `timestamp`, `date`, `workerId` and `sequence`.
   * @throws `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` / `ERR_OUT_OF_RANGE` when `id` is not a 64-bit unsigned integer.
   * @example
   * ids.parse(ids.next()).workerId === ids.workerId; // true
   */
  parse(id: bigint | string): SnowflakeParts {
    return parseId(this.#ids, id, this.epoch, this.#layout);
  }

  static {
    Object.defineProperty(SnowflakeBase.prototype, TEST_CLOCK_OFFSET, {
      value(this: SnowflakeBase, offsetMs: number) {
        this.#engine.setClockOffset(offsetMs);
      },
    });
  }
}

export function createSnowflakeApi(ids: IdBackend) {
  class Snowflake extends SnowflakeBase {
    constructor(options: SnowflakeOptions) {
      super(ids, options);
    }

    /** The fields of an ID, for an epoch and layout (default: the constructor's defaults). */
    static parse(id: bigint | string, options?: SnowflakeParseOptions): SnowflakeParts {
      return parseWithOptions(ids, id, options);
    }
  }
  return { Snowflake: Snowflake as SnowflakeConstructor };
}

/** `Snowflake.parse`: the epoch and layout from `options`, else the defaults. */
function parseWithOptions(ids: IdBackend, id: unknown, options: unknown): SnowflakeParts {
  const opts = toOptions(options);
  return parseId(ids, id, toEpoch(opts.epoch), toLayout(opts.layout));
}
