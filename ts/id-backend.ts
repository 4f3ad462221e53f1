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

export interface IdBackend {
  createSnowflake(settings: SnowflakeSettings): SnowflakeEngine;
  /** `id` is in [0, 2^64); throws ERR_OUT_OF_RANGE if it is wider than the layout. */
  parseSnowflake(id: bigint, layout: SnowflakeLayout): SnowflakeFields;
  uuidv7(): string;
  uuidv7Bytes(): Uint8Array;
  uuidv7Batch(count: number): string[];
  /** `bits` in [1, 53]. */
  machineWorkerId(bits: number): number;
}
