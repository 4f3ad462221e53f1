// The time source of the fallback's IDs, and the wait that lines up with it (the core's
// id/clock.rs).
import { sleepSync } from '../poll';

/** The wall clock (ms) at first use and performance.now() at that same moment. */
let anchor: { wallMs: number; monoMs: number } | undefined;

/** A tick seen within this many ms (between the monotonic reads around it) is taken. */
const TIGHT_TICK_MS = 0.02;
/** Ticks watched for a tight one before the tightest seen is taken (each about 1 ms). */
const TICKS_TRIED = 5;

/**
 * Reads the wall clock at the moment its millisecond ticks over, so that the anchor is
 * exact to well under a millisecond. The tick lies between the last read that still
 * showed the old millisecond and the first that showed the new one, so between the
 * monotonic reads taken just before the one and just after the other; the anchor is
 * the middle of those two. If the thread was preempted in that span (a busy machine) it
 * is wide, and the next tick is tried: before this, a preemption between the wall-clock
 * read and the monotonic one left the clock behind the wall clock for the life of the
 * process. `performance.timeOrigin` is not used: Node takes it at process start from two
 * clocks read apart, and it drifts from the wall clock for the whole life of the process.
 */
function readAnchor(): { wallMs: number; monoMs: number } {
  let best = { wallMs: 0, monoMs: 0, spanMs: Number.POSITIVE_INFINITY };
  for (let tick = 0; tick < TICKS_TRIED && best.spanMs > TIGHT_TICK_MS; tick++) {
    const seen = nextTick();
    if (seen.spanMs < best.spanMs) best = seen;
  }
  return { wallMs: best.wallMs, monoMs: best.monoMs };
}

/** Spins until Date.now() moves on; where the tick happened, in performance.now() time, ± spanMs / 2. */
function nextTick(): { wallMs: number; monoMs: number; spanMs: number } {
  let beforeOld = performance.now(); // before the latest read that showed `start`
  const start = Date.now();
  let before = performance.now(); // before the read to come
  for (;;) {
    const wallMs = Date.now();
    const after = performance.now();
    if (wallMs !== start) return { wallMs, monoMs: (beforeOld + after) / 2, spanMs: after - beforeOld };
    beforeOld = before;
    before = after;
  }
}

/**
 * µs since the Unix epoch: the wall clock at first use plus monotonic time since, so a
 * wall-clock step while the process runs changes nothing (as the core's SystemClock).
 */
export function processMicros(): number {
  anchor ??= readAnchor();
  return Math.floor((anchor.wallMs + (performance.now() - anchor.monoMs)) * 1000);
}

/** `Atomics.wait` wakes late by tens of µs, so the last stretch of a wait is spun. */
const SPIN_WINDOW_MICROS = 120;

/** One step of a wait loop: sleep when far from the target, return at once (spin) when near. */
export function pause(remainingMicros: number): void {
  if (remainingMicros > SPIN_WINDOW_MICROS) sleepSync((remainingMicros - SPIN_WINDOW_MICROS) / 1000);
}
