// What the demo's parent and its worker processes agree on: the store's layout, and the
// messages on the IPC channel between them.

/** The document the workers update under its lock (`store.update`). */
export const LOCKED_COUNTER = 'locked-counter.json';
/** The document the workers update optimistically (`store.updateOptimistic`). */
export const OPTIMISTIC_COUNTER = 'optimistic-counter.json';
/** Worker-ID leases, inside the store; hidden (a leading dot), so the store never lists them. */
export const LEASE_DIR = '.leases';
/** Each worker writes the IDs it minted to `ids/worker-<worker ID>.txt`, one a line. */
export const IDS_DIR = 'ids';

/**
 * Test hook: with this set to `sigkill`, worker 0 kills itself with SIGKILL halfway
 * through its locked updates, while it holds the lock.
 */
export const FAULT_ENV = 'CONCURRENT_FS_DEMO_FAULT';

export interface Counter {
  count: number;
}

/** What a worker has done so far. */
export interface Progress {
  locked: number;
  optimistic: number;
  /** Optimistic updates that lost a race and were retried. */
  conflicts: number;
  ids: number;
}

/** When a phase ran in one worker: wall-clock ms, comparable across processes. */
export interface Span {
  start: number;
  end: number;
}

/** A worker's account of its run, sent when it has finished. */
export interface WorkerReport {
  workerId: number;
  locked: Span;
  optimistic: Span & { conflicts: number; maxAttempts: number };
  ids: Span;
}

/**
 * Workers run the phases in this order, all together: each waits at a barrier before a
 * phase until every live worker is there, so a phase's rate is not blurred by workers
 * still busy with the one before.
 */
export const PHASES = ['locked', 'optimistic', 'ids'] as const;
export type Phase = (typeof PHASES)[number];

export type WorkerMessage =
  | { type: 'ready'; phase: Phase }
  | { type: 'progress'; progress: Progress }
  | { type: 'done'; progress: Progress; report: WorkerReport };

/** The parent's one message: start the phase, sent once every live worker is ready for it. */
export interface GoMessage {
  type: 'go';
}

export function wallClock(): number {
  return performance.timeOrigin + performance.now();
}
