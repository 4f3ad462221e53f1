// The time source of the fallback's IDs, and the wait that lines up with it (the core's
// id/clock.rs).
import { sleepSync } from '../poll';

/** The wall clock (ms) at first use and performance.now() at that same moment. */
let anchor: { wallMs: number; monoMs: number } | undefined;

/**
 * Reads the wall clock once, at the moment its millisecond ticks over, so that the anchor
 * is exact to well under a millisecond. `performance.timeOrigin` is not used: Node takes
 * it at process start from two clocks read apart, which a busy machine can separate by
 * milliseconds, and it drifts from the wall clock for the whole life of the process.
 */
function readAnchor(): { wallMs: number; monoMs: number } {
  const start = Date.now();
  let wallMs = start;
  while (wallMs === start) wallMs = Date.now(); // at most 1 ms, once per process
  return { wallMs, monoMs: performance.now() };
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
