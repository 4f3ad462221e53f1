// IDs in plain JavaScript: the same algorithms as the Rust core (crates/concurrent-fs-core/
// src/id/), so both implementations mint IDs with the same layout and guarantees.
import { randomFillSync } from 'node:crypto';
import { hostname, networkInterfaces } from 'node:os';
import { ClockBackwardsError, rangeError } from '../errors';
import type { IdBackend, SnowflakeEngine, SnowflakeFields, SnowflakeLayout, SnowflakeSettings } from '../id-backend';
import { type WorkerMarks, workerMarks } from './worker-marks';

// ---- Time -------------------------------------------------------------------------

/**
 * µs since the Unix epoch: the wall clock at process start plus monotonic time since, so
 * a wall-clock step while the process runs changes nothing (as the core's SystemClock).
 */
function processMicros(): number {
  return Math.floor((performance.timeOrigin + performance.now()) * 1000);
}

/** `Atomics.wait` wakes late by tens of µs, so the last stretch of a wait is spun. */
const SPIN_WINDOW_MICROS = 120;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** One step of a wait loop: sleep when far from the target, return at once (spin) when near. */
function pause(remainingMicros: number): void {
  if (remainingMicros > SPIN_WINDOW_MICROS) Atomics.wait(sleeper, 0, 0, (remainingMicros - SPIN_WINDOW_MICROS) / 1000);
}

// ---- Snowflake ----------------------------------------------------------------------

/** 'wait' follows a clock that stepped back by at most this much (the core's bound). */
const MAX_BACKWARDS_WAIT_MICROS = 1_000_000;

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

class JsSnowflakeEngine implements SnowflakeEngine {
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
    const elapsed = processMicros() + this.#offsetMicros - this.#epochMicros;
    if (elapsed < 0) throw rangeError('the clock reads earlier than the ID epoch');
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

function parseSnowflake(id: bigint, layout: SnowflakeLayout): SnowflakeFields {
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

// ---- UUIDv7 -------------------------------------------------------------------------

/** Random bytes are drawn from the OS a pool at a time, not per UUID. */
const pool = new Uint8Array(4096);
let poolAt = pool.length;

function randomByte(): number {
  if (poolAt === pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  return pool[poolAt++]!;
}

function random31(): number {
  return ((randomByte() << 23) | (randomByte() << 15) | (randomByte() << 7) | (randomByte() >>> 1)) >>> 0;
}

/** The core's uuidv7 state: RFC 9562 Method 1, 32-bit counter, seeded with its top bit clear. */
let lastMs = 0;
let counter = 0;

function advanceUuidState(): void {
  const nowMs = Math.floor(processMicros() / 1000);
  if (nowMs > lastMs) {
    lastMs = nowMs;
    counter = random31();
  } else if (counter === 0xffffffff) {
    lastMs++; // rollover: borrow the next millisecond, as the RFC allows
    counter = random31();
  } else {
    counter++; // same ms, or the clock went back: keep the last timestamp
  }
}

/** Writes the next UUIDv7 into `out` at `at`: 48-bit ms | 7 | counter | 10 | random 42. */
function writeUuidBytes(out: Uint8Array, at: number): void {
  advanceUuidState();
  const high = Math.floor(lastMs / 2 ** 32);
  out[at] = high >>> 8;
  out[at + 1] = high;
  out[at + 2] = lastMs >>> 24;
  out[at + 3] = lastMs >>> 16;
  out[at + 4] = lastMs >>> 8;
  out[at + 5] = lastMs;
  out[at + 6] = 0x70 | (counter >>> 28);
  out[at + 7] = counter >>> 20;
  out[at + 8] = 0x80 | ((counter >>> 14) & 0x3f);
  out[at + 9] = counter >>> 6;
  out[at + 10] = ((counter & 0x3f) << 2) | (randomByte() & 0x3);
  for (let i = 11; i < 16; i++) out[at + i] = randomByte();
}

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));
const scratch = new Uint8Array(16);

function uuidv7(): string {
  writeUuidBytes(scratch, 0);
  const h = (i: number) => HEX[scratch[i]!]!;
  return `${h(0)}${h(1)}${h(2)}${h(3)}-${h(4)}${h(5)}-${h(6)}${h(7)}-${h(8)}${h(9)}-${h(10)}${h(11)}${h(12)}${h(13)}${h(14)}${h(15)}`;
}

// ---- Machine worker ID ---------------------------------------------------------------

/** FNV-1a 64 over the bytes, then SplitMix64's finaliser (as the core's worker_id.rs). */
function fingerprint(parts: Uint8Array[]): bigint {
  const mask = 2n ** 64n - 1n;
  let hash = 0xcbf29ce484222325n;
  for (const part of parts) {
    for (const byte of part) hash = ((hash ^ BigInt(byte)) * 0x100000001b3n) & mask;
  }
  hash = ((hash ^ (hash >> 30n)) * 0xbf58476d1ce4e5b9n) & mask;
  hash = ((hash ^ (hash >> 27n)) * 0x94d049bb133111ebn) & mask;
  return hash ^ (hash >> 31n);
}

/** MACs of the interfaces Node sees (those with an address); may differ from the core's. */
function macAddresses(): string[] {
  const macs = Object.values(networkInterfaces()).map((addresses) => addresses?.[0]?.mac ?? '');
  return macs.filter((mac) => /[1-9a-f]/i.test(mac)).sort();
}

let machineFingerprint: bigint | undefined;

function machineWorkerId(bits: number): number {
  if (machineFingerprint === undefined) {
    const pid = new Uint8Array(new Uint32Array([process.pid]).buffer);
    const text = (s: string) => new TextEncoder().encode(s);
    machineFingerprint = fingerprint([text(hostname()), new Uint8Array([0]), pid, ...macAddresses().map(text)]);
  }
  return Number(machineFingerprint & ((1n << BigInt(bits)) - 1n));
}

export const jsIds: IdBackend = {
  createSnowflake: (settings) => new JsSnowflakeEngine(settings),
  holdMark: (workerId, path) => workerMarks(workerId).hold(path, processMicros() / 1000),
  clockMs: () => processMicros() / 1000,
  parseSnowflake,
  uuidv7,
  uuidv7Bytes: () => {
    const out = new Uint8Array(16);
    writeUuidBytes(out, 0);
    return out;
  },
  uuidv7Batch: (count) => {
    const out = new Array<string>(count);
    for (let i = 0; i < count; i++) out[i] = uuidv7();
    return out;
  },
  machineWorkerId,
};
