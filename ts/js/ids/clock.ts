// The time source of the fallback's IDs, and the wait that lines up with it (the core's
// id/clock.rs).
import { sleepSync } from '../poll';

/**
 * µs since the Unix epoch: the wall clock at process start plus monotonic time since, so
 * a wall-clock step while the process runs changes nothing (as the core's SystemClock).
 */
export function processMicros(): number {
  return Math.floor((performance.timeOrigin + performance.now()) * 1000);
}

/** `Atomics.wait` wakes late by tens of µs, so the last stretch of a wait is spun. */
const SPIN_WINDOW_MICROS = 120;

/** One step of a wait loop: sleep when far from the target, return at once (spin) when near. */
export function pause(remainingMicros: number): void {
  if (remainingMicros > SPIN_WINDOW_MICROS) sleepSync((remainingMicros - SPIN_WINDOW_MICROS) / 1000);
}
