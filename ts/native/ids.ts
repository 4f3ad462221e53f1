// IDs from the native addon; its errors leave decoded (errors.ts).
// Sequences and lease marks live in the addon, process-wide: every generator with one
// worker ID, epoch and layout shares one sequence, in every worker thread.
//
// A call into the addon costs far more than minting a Snowflake ID there, so `next()`
// hands out IDs from a small cache filled in one call. Cached IDs carry the time unit
// in which they were minted, so they are handed out only until that unit ends (by the
// addon's clock, tracked here on performance.now(): both run on the monotonic clock, so
// the offset between them is fixed). An ID is thus never older than the unit it is
// handed out in, exactly as if it had been minted on the spot.
import type { HeldMark, IdBackend, SnowflakeEngine, SnowflakeSettings } from '../id-backend';
import type { NativeSnowflake } from './binding';
import { callNative as call } from './errors';
import type { NativeBinding } from './load';

const CACHE_SIZE = 256;
/** Cached IDs stop being handed out this long before their unit ends, plus the sync error. */
const DEADLINE_MARGIN_MS = 0.05;

/** The addon clock's ms minus performance.now(), best of a few reads, with its error. */
function measureClockOffset(native: NativeSnowflake): { offset: number; error: number } {
  let best = { offset: 0, error: Number.POSITIVE_INFINITY };
  for (let i = 0; i < 5; i++) {
    const before = performance.now();
    const nativeMs = native.clockMicros() / 1000;
    const after = performance.now();
    if ((after - before) / 2 < best.error) best = { offset: nativeMs - (before + after) / 2, error: (after - before) / 2 };
  }
  return best;
}

class NativeSnowflakeEngine implements SnowflakeEngine {
  readonly #native: NativeSnowflake;
  readonly #epoch: number;
  readonly #unitMs: number;
  readonly #timeShift: bigint;
  readonly #cache = new BigUint64Array(CACHE_SIZE);
  #count = 0;
  #next = 0;
  /** performance.now() before which the cached IDs may be handed out. */
  #deadline = 0;
  #clock = { offset: 0, error: 0 };

  constructor(binding: NativeBinding, settings: SnowflakeSettings) {
    const { layout } = settings;
    // SnowflakeSettings is the addon's SnowflakeConfig: the object crosses as it is.
    this.#native = call(() => binding.NativeSnowflake.create(settings));
    this.#epoch = settings.epoch;
    this.#unitMs = layout.timeUnitMs;
    this.#timeShift = BigInt(layout.workerBits + layout.sequenceBits);
    this.#clock = measureClockOffset(this.#native);
  }

  next(): bigint {
    if (this.#next < this.#count && performance.now() < this.#deadline) return this.#cache[this.#next++]!;
    return this.#refill();
  }

  #refill(): bigint {
    // Ask for twice what was used from the last fill: a busy caller soon gets full
    // fills, an occasional one mints about two IDs per call.
    const want = Math.min(CACHE_SIZE, Math.max(1, 2 * this.#next));
    this.#count = 0;
    this.#count = call(() => this.#native.fillCurrentUnit(this.#cache, want));
    this.#next = 1;
    const first = this.#cache[0]!;
    const unitEnd = this.#epoch + (Number(first >> this.#timeShift) + 1) * this.#unitMs;
    this.#deadline = unitEnd - this.#clock.offset - this.#clock.error - DEADLINE_MARGIN_MS;
    return first;
  }

  nextBatch(count: number): BigUint64Array {
    // Cached IDs are lower than the batch's: handing them out later would go backwards.
    this.#count = 0;
    const out = new BigUint64Array(count);
    if (count > 0) call(() => this.#native.fill(out));
    return out;
  }

  setClockOffset(offsetMs: number): void {
    this.#count = 0;
    this.#native.setClockOffsetForTesting(offsetMs);
    this.#clock = measureClockOffset(this.#native);
  }
}

function holdMark(binding: NativeBinding, workerId: number, path: string): HeldMark {
  const mark = call(() => binding.NativeWorkerMark.hold(workerId, path));
  return { floor: mark.floorMs() ?? undefined, release: () => mark.release() };
}

export function createNativeIds(binding: NativeBinding): IdBackend {
  // Off the V8 heap from the start (a fresh 16-byte Uint8Array lives on the heap, and
  // handing it to the addon costs a copy out first); each call returns a copy.
  const uuidScratch = new Uint8Array(new ArrayBuffer(16));
  return {
    createSnowflake: (settings) => new NativeSnowflakeEngine(binding, settings),
    holdMark: (workerId, path) => holdMark(binding, workerId, path),
    clockMs: () => binding.idClockMs(),
    parseSnowflake: (id, layout) => call(() => binding.parseSnowflake(id, layout)),
    uuidv7: () => binding.uuidv7(),
    uuidv7Bytes: () => {
      binding.fillUuidv7Bytes(uuidScratch);
      return uuidScratch.slice();
    },
    uuidv7Batch: (count) => {
      const joined = binding.uuidv7Joined(count);
      const out = new Array<string>(count);
      for (let i = 0; i < count; i++) out[i] = joined.slice(i * 36, i * 36 + 36);
      return out;
    },
    machineWorkerId: (bits) => binding.machineWorkerId(bits),
  };
}
