// What an implementation provides for IDs (the `ids` member of a Backend). Arguments
// arrive validated by the facade (ts/snowflake.ts, ts/ids.ts).

/** A Snowflake bit layout, resolved: time is always the most significant field. */
export interface SnowflakeLayout {
  timeBits: number;
  workerBits: number;
  sequenceBits: number;
  timeUnitMs: number;
  /** Sonyflake puts the sequence above the machine ID; every other layout the reverse. */
  order: 'time-worker-sequence' | 'time-sequence-worker';
}

export interface SnowflakeSettings {
  layout: SnowflakeLayout;
  workerId: number;
  /** ms since the Unix epoch, an integer, not in the future. */
  epoch: number;
  clockBackwards: 'wait' | 'throw';
}

/** One generator: strictly increasing IDs, never repeated. */
export interface SnowflakeEngine {
  next(): bigint;
  nextBatch(count: number): BigUint64Array;
  /** Test hook: runs this generator's clock `offsetMs` away from the real one. */
  setClockOffset(offsetMs: number): void;
}

/** The fields of an ID; `time` counts time units since the epoch. */
export interface SnowflakeFields {
  time: number;
  workerId: number;
  sequence: number;
}

/**
 * A leased worker ID's high-water mark (`dir/worker-<id>.hwm`, API.md "IDs"), held while
 * the lease's lock is. Every generator on the worker ID in this process (native: every
 * thread; fallback: this thread) never mints at or before `floor`, and renews the
 * reservation in the file before minting past it.
 */
export interface HeldMark {
  /** Unix ms: the last millisecond an earlier holder may have used; undefined if none. */
  readonly floor: number | undefined;
  /**
   * Records the last millisecond used and stops renewing. Never throws: if that write
   * fails, the file keeps the last reservation, which is later than anything used.
   */
  release(): void;
}

export interface IdBackend {
  /** One generator; all of them with one worker ID, epoch and layout share a sequence. */
  createSnowflake(settings: SnowflakeSettings): SnowflakeEngine;
  /** Reads the mark at `path`, reserves time ahead in it, and makes generators honour it. */
  holdMark(workerId: number, path: string): HeldMark;
  /** The generators' clock, in Unix ms (with a fraction). */
  clockMs(): number;
  /** `id` is in [0, 2^64); throws ERR_OUT_OF_RANGE if it is wider than the layout. */
  parseSnowflake(id: bigint, layout: SnowflakeLayout): SnowflakeFields;
  uuidv7(): string;
  uuidv7Bytes(): Uint8Array;
  uuidv7Batch(count: number): string[];
  /** `bits` in [1, 53]. */
  machineWorkerId(bits: number): number;
}
