// Snowflake IDs in plain JavaScript: a generator of strictly increasing IDs for one
// worker, and their decoding, as the core's id/snowflake.rs and id/layout.rs.
import { ClockBackwardsError, rangeError } from '../../errors';
import type { SnowflakeEngine, SnowflakeFields, SnowflakeLayout, SnowflakeSettings } from '../../id-backend';
import { pause, processMicros } from './clock';
import { type WorkerMarks, workerMarks } from './worker-marks';

/** 'wait' follows a clock that stepped back by at most this much (the core's bound). */
const MAX_BACKWARDS_WAIT_MICROS = 1_000_000;

/**
 * A reading this close before the epoch counts as the epoch (the core's bound): an epoch
 * of "now" is checked against Date.now(), in whole milliseconds, so the clock, in
 * microseconds, can read a fraction of that millisecond before it.
 */
const EPOCH_SLACK_MICROS = 1000;

/** Index of the low and high 32-bit halves of a 64-bit word in a Uint32Array view. */
const [LO, HI] = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? [0, 1] : [1, 0];

/**
 * Adds `value * 2^shift` to the 64-bit number in words[at + LO], words[at + HI]. The
 * fields of an ID never overlap, so adding them is OR-ing them; every step is exact in
 * doubles (value < 2^53, products of a 32-bit value and a power of two).
 */
function addShifted(words: Uint32Array, at: number, value: number, shift: number): void {
  if (shift >= 32) {
    words[at + HI]! += value * 2 ** (shift - 32);
    return;
  }
  const low = value % 2 ** 32;
  const high = Math.floor(value / 2 ** 32);
  words[at + LO]! += (low * 2 ** shift) % 2 ** 32;
  words[at + HI]! += Math.floor(low / 2 ** (32 - shift)) + high * 2 ** shift;
}

function shiftsOf(layout: SnowflakeLayout): { time: number; worker: number; sequence: number } {
  const low = layout.workerBits + layout.sequenceBits;
  return layout.order === 'time-worker-sequence'
    ? { time: low, worker: layout.sequenceBits, sequence: 0 }
    : { time: low, worker: 0, sequence: layout.workerBits };
}

/** Where a worker's sequence stands, shared by its generators (same epoch and layout). */
interface Sequence {
  /** Time unit of the last issued ID; -1 before the first. */
  lastUnit: number;
  sequence: number;
}

/**
 * Every generator with one worker ID, epoch and layout in this thread shares one
 * sequence, as in the core (there process-wide; a worker thread here has its own copy of
 * this module). Entries stay: one small object per combination ever used.
 */
const sequences = new Map<string, Sequence>();

function sharedSequence({ workerId, epoch, layout }: SnowflakeSettings): Sequence {
  const key = [workerId, epoch, layout.timeBits, layout.workerBits, layout.sequenceBits, layout.timeUnitMs, layout.order].join('/');
  let state = sequences.get(key);
  if (!state) {
    state = { lastUnit: -1, sequence: 0 };
    sequences.set(key, state);
  }
  return state;
}

export class JsSnowflakeEngine implements SnowflakeEngine {
  readonly #layout: SnowflakeLayout;
  readonly #shifts: { time: number; worker: number; sequence: number };
  readonly #workerId: number;
  readonly #epochMs: number;
  readonly #epochMicros: number;
  readonly #unitMs: number;
  readonly #unitMicros: number;
  readonly #maxTime: number;
  readonly #maxSequence: number;
  readonly #throw: boolean;
  readonly #one = new BigUint64Array(1);
  readonly #oneWords = new Uint32Array(this.#one.buffer);
  readonly #state: Sequence;
  /** The high-water marks of the leases held on this worker ID. */
  readonly #marks: WorkerMarks;
  #offsetMicros = 0;

  constructor(settings: SnowflakeSettings) {
    const { layout } = settings;
    this.#layout = layout;
    this.#shifts = shiftsOf(layout);
    this.#workerId = settings.workerId;
    this.#epochMs = settings.epoch;
    this.#epochMicros = settings.epoch * 1000;
    this.#unitMs = layout.timeUnitMs;
    this.#unitMicros = layout.timeUnitMs * 1000;
    this.#state = sharedSequence(settings);
    this.#marks = workerMarks(settings.workerId);
    this.#maxTime = 2 ** layout.timeBits - 1;
    this.#maxSequence = 2 ** layout.sequenceBits - 1;
    this.#throw = settings.clockBackwards === 'throw';
    this.#elapsedMicros(); // fail now, not at the first ID, if the time cannot fit
  }

  next(): bigint {
    this.#advance();
    this.#oneWords[0] = 0;
    this.#oneWords[1] = 0;
    this.#encodeInto(this.#oneWords, 0);
    return this.#one[0]!;
  }

  nextBatch(count: number): BigUint64Array {
    const out = new BigUint64Array(count);
    const words = new Uint32Array(out.buffer);
    for (let i = 0; i < count; i++) {
      this.#advance();
      this.#encodeInto(words, 2 * i);
    }
    return out;
  }

  setClockOffset(offsetMs: number): void {
    this.#offsetMicros = Math.round(offsetMs * 1000);
  }

  /** The core's Snowflake::next_id: clock check first, then the sequence, then the marks. */
  #advance(): void {
    const state = this.#state;
    const marks = this.#marks;
    if (marks.floorMs !== Number.NEGATIVE_INFINITY) this.#honourFloor(marks.floorMs);
    let unit = Math.floor(this.#elapsedMicros() / this.#unitMicros);
    if (unit < state.lastUnit) unit = this.#followBackwardsClock();
    if (unit > state.lastUnit) {
      state.lastUnit = unit;
      state.sequence = 0;
    } else if (state.sequence < this.#maxSequence) {
      state.sequence++;
    } else {
      state.lastUnit = this.#waitForUnit(state.lastUnit + 1);
      state.sequence = 0;
    }
    const endMs = this.#epochMs + (state.lastUnit + 1) * this.#unitMs - 1;
    if (endMs > marks.usedMs) marks.usedMs = endMs;
    if (endMs > marks.renewAfterMs) marks.cover(endMs, (processMicros() + this.#offsetMicros) / 1000);
  }

  /** A lease's floor counts as issued: the next ID goes to a later unit (see the core). */
  #honourFloor(floorMs: number): void {
    const floorUnit = Math.floor((floorMs - this.#epochMs) / this.#unitMs);
    if (floorUnit >= this.#state.lastUnit) {
      this.#state.lastUnit = floorUnit;
      this.#state.sequence = this.#maxSequence;
    }
  }

  #elapsedMicros(): number {
    const reading = processMicros() + this.#offsetMicros - this.#epochMicros;
    if (reading < -EPOCH_SLACK_MICROS) throw rangeError('the clock reads earlier than the ID epoch');
    const elapsed = Math.max(reading, 0);
    if (Math.floor(elapsed / this.#unitMicros) > this.#maxTime) {
      throw rangeError(`the time since the epoch no longer fits the layout's ${this.#layout.timeBits} time bits`);
    }
    return elapsed;
  }

  #followBackwardsClock(): number {
    if (this.#throw) {
      const behind = this.#state.lastUnit * this.#unitMicros - this.#elapsedMicros();
      throw new ClockBackwardsError(Math.max(behind, 1) / 1000);
    }
    return this.#waitForUnit(this.#state.lastUnit);
  }

  /** Waits for time unit `target`; longer than one unit means the clock went back. */
  #waitForUnit(target: number): number {
    for (;;) {
      const now = this.#elapsedMicros();
      const unit = Math.floor(now / this.#unitMicros);
      if (unit >= target) return unit;
      const remaining = target * this.#unitMicros - now;
      const behind = remaining - this.#unitMicros;
      if (behind > 0 && (this.#throw || behind > MAX_BACKWARDS_WAIT_MICROS)) throw new ClockBackwardsError(behind / 1000);
      pause(remaining);
    }
  }

  #encodeInto(words: Uint32Array, at: number): void {
    addShifted(words, at, this.#state.lastUnit, this.#shifts.time);
    addShifted(words, at, this.#workerId, this.#shifts.worker);
    addShifted(words, at, this.#state.sequence, this.#shifts.sequence);
  }
}

export function parseSnowflake(id: bigint, layout: SnowflakeLayout): SnowflakeFields {
  const total = layout.timeBits + layout.workerBits + layout.sequenceBits;
  if (id >> BigInt(total) !== 0n) throw rangeError(`the ID does not fit the layout's ${total} bits`);
  const shifts = shiftsOf(layout);
  const field = (shift: number, bits: number) => Number((id >> BigInt(shift)) & ((1n << BigInt(bits)) - 1n));
  return {
    time: field(shifts.time, layout.timeBits),
    workerId: field(shifts.worker, layout.workerBits),
    sequence: field(shifts.sequence, layout.sequenceBits),
  };
}
