// How the CLI ends: its exit statuses, and the termination signals that commands holding
// something (a lock, a half-written file, worker processes) intercept to clean up first.
import { constants } from 'node:os';

export const EXIT_FAILURE = 1;
/** Bad arguments, as most Unix tools. */
export const EXIT_USAGE = 2;
/** sysexits' EX_TEMPFAIL: try again later (a lock or a worker ID was not had in time). */
export const EXIT_TEMPFAIL = 75;

/** A shell's status for a process that `signal` killed: 128 + the signal's number. */
export function signalStatus(signal: NodeJS.Signals): number {
  return 128 + constants.signals[signal];
}

export const TERMINATION_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Calls `handler` on `signals` (by default SIGINT, SIGTERM and SIGHUP) instead of dying
 * at once. Returns the function that puts the default behaviour back.
 */
export function onTermination(handler: (signal: NodeJS.Signals) => void, signals = TERMINATION_SIGNALS): () => void {
  for (const signal of signals) process.on(signal, handler);
  return () => {
    for (const signal of signals) process.off(signal, handler);
  };
}
