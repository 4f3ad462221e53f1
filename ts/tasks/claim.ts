// A claimed task as its claimer holds it: the record it was claimed with, the locks that
// hold it, and the three ways a claim ends (complete, fail, release), each run by the
// queue under those locks.
import { invalidArgType } from '../errors';
import { registerDescriptors } from '../held-descriptors';
import { serializeJson } from '../json-file';
import { toOptions } from '../validate';
import { toErrorRecord } from './arguments';
import type { Hold } from './moves';
import type { TaskError, TaskRecord } from './record';

/** Options of `ClaimedTask.fail(error, options)`. */
export interface FailOptions {
  /** Put the task back to `ready` if it has attempts left. Default false: `failed` now. */
  retry?: boolean;
}

/** A task held by this process until complete, fail, release or dispose. */
export interface ClaimedTask {
  /** The task's ID. */
  readonly id: string;
  /** The JSON value given to `add`. */
  readonly data: unknown;
  /** This claim's number: above 1 means an earlier claim did not finish (its claimer died, or released it). */
  readonly attempts: number;
  /** The `worker` this claim named (`claim({ worker })`), if any. */
  readonly worker: string | undefined;
  /**
   * Marks the task done and lets go of it (its lease and key locks).
   * @param result Any JSON-serialisable value, kept as `TaskInfo.result`.
   * @returns Resolves once the task is in `done`.
   * @throws `ERR_INVALID_STATE` when this claim already ended (completed, failed, released);
   * `ERR_INVALID_ARG_VALUE` for a result JSON cannot hold; OS errors (the claim is then still held).
   * @example
   * await task.complete({ pr: 42 });
   */
  complete(result?: unknown): Promise<void>;
  /**
   * Marks the task failed, or with `retry` puts it back to `ready` when attempts remain;
   * lets go of it either way.
   * @param error What went wrong; an `Error` is kept as `{ name, message, code? }`, anything else as its text.
   * @param options `retry` (default `false`: `failed` now).
   * @returns Resolves once the task is in `failed` (or back in `ready`).
   * @throws `ERR_INVALID_STATE` when this claim already ended; `ERR_INVALID_ARG_TYPE` for a
   * non-boolean `retry`; OS errors (the claim is then still held).
   * @example
   * await task.fail(err, { retry: true });
   */
  fail(error: unknown, options?: FailOptions): Promise<void>;
  /**
   * Gives the task back unfinished (to `ready`, or `failed` when out of attempts), as a
   * claimer's death would. Does nothing once the claim ended; `await using` calls it.
   * @throws OS errors.
   */
  release(): Promise<void>;
  /** `release()` unless the claim already ended, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** The queue's side of ending a claim: the moves, made under the claim's locks. */
export interface ClaimEnds {
  /** Moves the claimed task to its final state. */
  end(to: 'done' | 'failed', record: TaskRecord, error?: TaskError): Promise<void>;
  /** Puts the claimed task back to `ready` (or `failed` when out of attempts). */
  giveBack(record: TaskRecord, error: TaskError | undefined): Promise<void>;
}

function invalidState(message: string): Error {
  return Object.assign(new Error(`Invalid state: ${message}`), { code: 'ERR_INVALID_STATE' });
}

export class Claim implements ClaimedTask {
  readonly id: string;
  readonly data: unknown;
  readonly attempts: number;
  readonly worker: string | undefined;
  #state: 'held' | 'busy' | 'ended' = 'held';

  constructor(
    private readonly record: TaskRecord,
    private readonly hold: Hold,
    private readonly ends: ClaimEnds,
  ) {
    this.id = record.id;
    this.data = record.data;
    this.attempts = record.attempts;
    this.worker = record.worker;
    registerDescriptors(this, () => [hold.lease.descriptor(), ...hold.keys.map((key) => key.descriptor())]);
  }

  // Async so that a bad argument rejects, as every other failure of these methods does.
  async complete(result?: unknown): Promise<void> {
    if (result !== undefined) serializeJson(result, 'result');
    return this.#finish('complete', () => this.ends.end('done', { ...this.record, ...(result === undefined ? {} : { result }) }));
  }

  async fail(error: unknown, options?: FailOptions): Promise<void> {
    const retry = toOptions(options).retry;
    if (retry !== undefined && typeof retry !== 'boolean') throw invalidArgType('options.retry', 'of type boolean', retry);
    const record = toErrorRecord(error);
    return this.#finish('fail', async () => {
      if (retry) await this.ends.giveBack({ ...this.record, error: record }, record);
      else await this.ends.end('failed', this.record, record);
    });
  }

  release(): Promise<void> {
    if (this.#state === 'ended') return Promise.resolve();
    return this.#finish('release', () => this.ends.giveBack(this.record, undefined));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#state === 'held') await this.release();
  }

  /** Runs one end of the claim under its locks, then lets them go. On error the claim stays held. */
  async #finish(method: string, run: () => Promise<void>): Promise<void> {
    if (this.#state !== 'held')
      throw invalidState(`${method}() of task ${this.id}, which is ${this.#state === 'busy' ? 'ending' : 'already ended'}`);
    this.#state = 'busy';
    try {
      await run();
    } catch (err) {
      this.#state = 'held';
      throw err;
    }
    this.#state = 'ended';
    this.hold.release();
  }
}
