// The demo's worker processes, seen from the parent: starting them, the barrier before
// each phase (go once every live worker is ready for it, so they really run it together),
// their progress and reports, and every way a worker can end — finished, failed, killed,
// or still running at the time limit — so the demo never waits on a worker that is gone.
import { type ChildProcess, spawn } from 'node:child_process';
import type { GoMessage, Phase, Progress, WorkerMessage, WorkerReport } from './demo-protocol';

export interface WorkerState {
  readonly index: number;
  readonly pid: number | undefined;
  progress: Progress;
  /** The phase this worker waits to start, if it is at a barrier. */
  waitingFor?: Phase;
  closed: boolean;
  report?: WorkerReport;
  /** Why this worker did not finish cleanly; undefined if it did (or is still running). */
  failure?: string;
}

export interface Crew {
  readonly workers: readonly WorkerState[];
  /** Resolves once every worker has exited and its IPC channel is closed. */
  readonly done: Promise<void>;
  /** Sends `signal` to every worker still running. */
  stop(signal: NodeJS.Signals): void;
}

export interface CrewOptions {
  count: number;
  /** The node arguments of worker `index`. */
  args(index: number): string[];
  /** Workers still running after this long are killed. */
  timeLimitMs: number;
  /** Called as soon as a worker fails, to report it while the others run on. */
  onFailure(worker: WorkerState): void;
}

function describeEnd(worker: WorkerState, code: number | null, signal: NodeJS.Signals | null): string {
  const who = `worker ${worker.index} (pid ${worker.pid})`;
  const how = signal ? `was killed by ${signal}` : code === 0 ? 'exited without reporting' : `exited with status ${code}`;
  const { locked, optimistic } = worker.progress;
  return `${who} ${how} (its last report: ${locked} locked and ${optimistic} optimistic updates done)`;
}

/** The workers of one demo run, by index: their processes and what the parent knows of them. */
class WorkerCrew implements Crew {
  readonly workers: WorkerState[] = [];
  readonly done: Promise<void>;
  readonly #children: ChildProcess[] = [];

  constructor(private readonly options: CrewOptions) {
    const closed: Promise<void>[] = [];
    for (let index = 0; index < options.count; index++) closed.push(this.#start(index));
    const limit = setTimeout(() => this.#timeUp(), options.timeLimitMs);
    this.done = Promise.all(closed).then(() => clearTimeout(limit));
  }

  stop(signal: NodeJS.Signals): void {
    for (const child of this.#children) if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  }

  /** Starts worker `index`; resolves once it is gone. */
  #start(index: number): Promise<void> {
    const child = spawn(process.execPath, this.options.args(index), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const worker: WorkerState = { index, pid: child.pid, progress: { locked: 0, optimistic: 0, conflicts: 0, ids: 0 }, closed: false };
    this.#children.push(child);
    this.workers.push(worker);
    child.on('message', (message: WorkerMessage) => {
      if (message.type === 'ready') worker.waitingFor = message.phase;
      else worker.progress = message.progress;
      if (message.type === 'done') worker.report = message.report;
      this.#releaseWhenAllReady();
    });
    return new Promise((resolve) => {
      child.on('error', (err) => {
        this.#fail(worker, `worker ${index}: ${err.message}`);
        if (child.pid !== undefined) return;
        worker.closed = true; // it never started, so it will never close
        resolve();
      });
      // 'close' comes after the exit and after the IPC channel closed, so every
      // message the worker sent has arrived by then.
      child.on('close', (code, signal) => {
        worker.closed = true;
        if (code !== 0 || worker.report === undefined) this.#fail(worker, describeEnd(worker, code, signal));
        this.#releaseWhenAllReady();
        resolve();
      });
    });
  }

  /** Go, once every live worker waits for the same phase (one that died must not block the rest). */
  #releaseWhenAllReady(): void {
    const live = this.workers.filter((w) => !w.closed);
    const phase = live[0]?.waitingFor;
    if (phase === undefined || !live.every((w) => w.waitingFor === phase)) return;
    const go: GoMessage = { type: 'go' };
    for (const worker of live) {
      worker.waitingFor = undefined;
      const child = this.#children[worker.index]!;
      if (child.connected) child.send(go);
    }
  }

  #fail(worker: WorkerState, why: string): void {
    if (worker.failure !== undefined) return;
    worker.failure = why;
    this.options.onFailure(worker);
  }

  /** The time limit: every worker still running has failed, and is killed. */
  #timeUp(): void {
    for (const worker of this.workers) {
      if (!worker.closed)
        this.#fail(
          worker,
          `worker ${worker.index} (pid ${worker.pid}) was still running after ${this.options.timeLimitMs / 1000} s; killed`,
        );
    }
    this.stop('SIGKILL');
  }
}

/** Starts `options.count` workers; the demo follows them through the crew. */
export function startCrew(options: CrewOptions): Crew {
  return new WorkerCrew(options);
}
