// TaskQueue: a serverless work queue in a directory, for any number of processes, in
// which a task is held by at most one live claimer at any time.
//
// Layout (see docs/tasks.md):
//   ready/<id>.json  claimed/<id>.json  done/<id>.json  failed/<id>.json
//   leases/<id>.lock   the task's lease: a kernel lock (flock), held by its claimer
//   keys/<sha256>.lock one lock per `exclusive` key, held by the claimer of a task naming it
//
// The directory a record is in is the task's state. Every move of a task (rename between
// state directories, rewrite of its record) is made by the holder of its lease, so no two
// processes ever move one task at once. Ownership *is* the lease: a claimer keeps it until
// complete/fail/release, and when the claimer dies in any way (SIGKILL included) the
// kernel frees it at once. A record in `claimed/` whose lease is free therefore belongs to
// a dead claimer: the next claim (or list) takes the lease and moves it back to `ready/`
// (or to `failed/` once `attempts` reached `maxAttempts`). No TTL, no heartbeat, and a live
// claimer's task is never taken from it, however slow it is.
//
// Claim: for each ready ID, oldest first: tryAcquire its lease (busy: skip), re-read the
// record under the lease (gone: someone else finished it), check `dependsOn` (each in
// `done/`), tryAcquire its key locks (busy: an overlapping task is claimed, skip), rename
// ready -> claimed, rewrite the record with attempts + 1. Nothing ever waits while holding
// a lock, so claims cannot deadlock.
import { createHash } from 'node:crypto';
import { unlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Backend, Durability } from '../backend';
import { invalidArgType, invalidArgValue, isSystemError, outOfRange, throwIfAborted } from '../errors';
import { registerDescriptors } from '../held-descriptors';
import { serializeJson } from '../json-file';
import type { FileLockBase, FileLockConstructor } from '../lock';
import { makeParents } from '../parents';
import { delay } from '../retry';
import { toOptions, toPath, toSignal, toTimeout, toWriteSettings } from '../validate';
import { Layout, STATES, type TaskError, type TaskRecord, type TaskState } from './record';

export type { TaskError, TaskState } from './record';

/** Options of `new TaskQueue(dir, options)`. */
export interface TaskQueueOptions {
  /**
   * How hard each state change is flushed. `'none'` (the default) survives any process
   * crash; `'data'`/`'full'` also flush records and directory entries for power loss.
   */
  durability?: Durability;
}

/** Options of `TaskQueue.add(data, options)`. */
export interface AddTaskOptions {
  /** Keys (compared as exact strings) no two claimed tasks may share, e.g. `'src/auth/**'`. */
  exclusive?: string[];
  /** IDs of tasks of this queue that must be done before this one is handed out. */
  dependsOn?: string[];
  /** Claims allowed before the task is `failed`. Default 3. */
  maxAttempts?: number;
}

/** Options of `TaskQueue.claim(options)`. */
export interface ClaimOptions {
  /** Recorded in the task as who claimed it. */
  worker?: string;
  /** How long to wait (ms) for a task to become ready. Default 0: look once. */
  wait?: number;
  /** Cancels the call (or its wait); it rejects with `AbortError` (`ABORT_ERR`). */
  signal?: AbortSignal;
}

/** Options of `ClaimedTask.fail(error, options)`. */
export interface FailOptions {
  /** Put the task back to `ready` if it has attempts left. Default false: `failed` now. */
  retry?: boolean;
}

/** A task as `list` shows it. */
export interface TaskInfo {
  /** The task's ID (a UUIDv7 from `add`). */
  id: string;
  /** Where it is now. */
  state: TaskState;
  /** The JSON value given to `add`. */
  data: unknown;
  /** Claims handed out so far (a claimer that died counts). */
  attempts: number;
  /** Claims allowed before it is `failed` (from `add`; default 3). */
  maxAttempts: number;
  /** Its `exclusive` keys (from `add`; `[]` if none). */
  exclusive: string[];
  /** IDs of the tasks that must be done before it is handed out (from `add`; `[]` if none). */
  dependsOn: string[];
  /** When it was added, in Unix ms. */
  createdAt: number;
  /** The `worker` named by the latest claim, if it named one. */
  worker?: string;
  /** What `complete(result)` recorded (`done` tasks). */
  result?: unknown;
  /** Why it failed (`failed`), or why its last attempt did (back in `ready`). */
  error?: TaskError;
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

/**
 * A task queue in a directory for any number of processes (the type of a `TaskQueue`).
 * A claimed task is held by its claimer's kernel lock: a claimer that dies gives it back
 * at once, and a live one is never robbed of it, however slow.
 */
export interface TaskQueueBase {
  /** The queue's directory, as an absolute path; created on first use. */
  readonly dir: string;
  /**
   * Adds a task, ready to claim.
   * @param data Any JSON-serialisable value, handed to the claimer as `task.data`.
   * @param options `exclusive` keys, `dependsOn` task IDs, `maxAttempts` (default 3).
   * @returns The task's ID: a UUIDv7, so IDs sort by time of adding.
   * @throws `ERR_INVALID_ARG_VALUE` for data JSON cannot hold or a `dependsOn` ID that is not
   * a task of this queue; `ERR_INVALID_ARG_TYPE` / `ERR_OUT_OF_RANGE` for bad options; OS errors.
   * @example
   * const id = await q.add({ title: 'auth docs' }, { exclusive: ['src/auth/**'], maxAttempts: 2 });
   */
  add(data: unknown, options?: AddTaskOptions): Promise<string>;
  /**
   * Claims a ready task: the oldest one whose `dependsOn` are done and whose `exclusive`
   * keys no claimed task holds (roughly oldest-first while other claimers take tasks too).
   * Tasks of dead claimers are given back first. A task whose dependency failed is failed.
   * @param options `worker` (recorded in the task), `wait` (ms to wait for one; default 0:
   * look once), `signal`.
   * @returns The claimed task, held until `complete`, `fail` or `release` (or `await using`'s
   * end, or this process's death); `undefined` if none was ready within `wait`.
   * @throws `ABORT_ERR` (`AbortError`); `ECORRUPT` for a record that is not JSON; OS errors;
   * `ERR_INVALID_ARG_TYPE` / `ERR_OUT_OF_RANGE` for bad options.
   * @example
   * await using task = await q.claim({ worker: 'alice', wait: 30_000 });
   * if (task) await task.complete(await work(task.data));
   */
  claim(options?: ClaimOptions): Promise<ClaimedTask | undefined>;
  /**
   * Every task (or those in `state`), oldest first. Tasks of dead claimers are given back first.
   * @param options `state`: only tasks in it.
   * @returns A snapshot of the tasks.
   * @throws `ERR_INVALID_ARG_VALUE` for an unknown state; `ECORRUPT`; OS errors.
   * @example
   * const failed = await q.list({ state: 'failed' });
   */
  list(options?: { state?: TaskState }): Promise<TaskInfo[]>;
}

/** The `TaskQueue` class users get (an interface for the same reason as `FileLockConstructor`). */
export interface TaskQueueConstructor {
  /**
   * A queue over `dir`; nothing is touched until the first call.
   * @param dir The queue's directory (created on first use).
   * @param options `durability` (default `'none'`: survives process crashes, not power loss).
   * @throws `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` for bad arguments.
   */
  new (dir: string | URL, options?: TaskQueueOptions): TaskQueueBase;
}

interface Deps {
  FileLock: FileLockConstructor;
  uuidv7: () => string;
}

const DEFAULT_MAX_ATTEMPTS = 3;
/** Polling while waiting for a ready task: a dead claimer frees its task without any file event. */
const FIRST_POLL_MS = 1;
const MAX_POLL_MS = 50;
/** Claimers start at a random one of the first SPREAD ready tasks. */
const SPREAD = 16;
/** The longest a claim goes without looking for dead claimers' tasks. */
const RECOVER_EVERY_MS = 20;
/** Task IDs are file names: UUIDv7s from `add`, or anything this safe a caller names. */
const SAFE_ID = /^[A-Za-z0-9_-]{1,128}$/;

function toStrings(value: unknown, name: string, check?: (item: string) => boolean, reason = ''): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalidArgType(name, 'an array of strings', value);
  for (const [i, item] of value.entries()) {
    if (typeof item !== 'string') throw invalidArgType(`${name}[${i}]`, 'of type string', item);
    if (check && !check(item)) throw invalidArgValue(`${name}[${i}]`, item, reason);
  }
  return [...new Set(value as string[])];
}

function toMaxAttempts(value: unknown): number {
  if (value === undefined) return DEFAULT_MAX_ATTEMPTS;
  if (typeof value !== 'number') throw invalidArgType('options.maxAttempts', 'of type number', value);
  if (!Number.isInteger(value) || value < 1) throw outOfRange('options.maxAttempts', 'an integer >= 1', value);
  return value;
}

function toErrorRecord(error: unknown): TaskError {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { name: error.name, message: error.message, ...(typeof code === 'string' ? { code } : {}) };
  }
  return { message: typeof error === 'string' ? error : (JSON.stringify(error) ?? String(error)) };
}

function invalidState(message: string): Error {
  return Object.assign(new Error(`Invalid state: ${message}`), { code: 'ERR_INVALID_STATE' });
}

function unlinkIfExists(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if (!isSystemError(err, 'ENOENT')) throw err;
  }
}

export function createTaskApi(backend: Backend, deps: Deps) {
  /** The locks a claim holds: the task's lease and its key locks. */
  class Hold {
    constructor(
      readonly lease: FileLockBase,
      readonly keys: FileLockBase[],
    ) {}
    release(): void {
      for (const key of this.keys.reverse()) if (key.isLocked) key.release();
      if (this.lease.isLocked) this.lease.release();
    }
  }

  class TaskQueue implements TaskQueueBase {
    readonly dir: string;
    readonly #layout: Layout;
    #ready: Promise<unknown> | undefined;
    /** This instance's view of `ready/` (see #claimOnce). */
    #candidates = new Set<string>();
    /** Whether the last look met tasks other claimers were taking: then start at a random one. */
    #contended = false;
    /** When dead claimers' tasks were last looked for (performance.now()). */
    #recovered = Number.NEGATIVE_INFINITY;

    constructor(dir: string | URL, options?: TaskQueueOptions) {
      this.dir = resolve(toPath(dir, 'dir'));
      const durability = toWriteSettings({ durability: toOptions(options).durability ?? 'none' }).durability;
      this.#layout = new Layout(this.dir, backend, durability);
    }

    async add(data: unknown, options?: AddTaskOptions): Promise<string> {
      const opts = toOptions(options);
      const exclusive = toStrings(opts.exclusive, 'options.exclusive');
      const dependsOn = toStrings(opts.dependsOn, 'options.dependsOn', (id) => SAFE_ID.test(id), 'must be a task ID');
      const maxAttempts = toMaxAttempts(opts.maxAttempts);
      serializeJson(data, 'data');
      await this.#ensureDirs();
      for (const dep of dependsOn) {
        if (this.#stateOf(dep) === undefined)
          throw invalidArgValue('options.dependsOn', dep, `must name a task of the queue in '${this.dir}'`);
      }
      const record: TaskRecord = { id: deps.uuidv7(), data, exclusive, dependsOn, maxAttempts, attempts: 0, createdAt: Date.now() };
      await this.#layout.write('ready', record, true);
      return record.id;
    }

    async claim(options?: ClaimOptions): Promise<ClaimedTask | undefined> {
      const opts = toOptions(options);
      if (opts.worker !== undefined && typeof opts.worker !== 'string')
        throw invalidArgType('options.worker', 'of type string', opts.worker);
      const worker = opts.worker as string | undefined;
      const wait = toTimeout(opts.wait, 'options.wait', 0);
      const signal = toSignal(opts.signal);
      throwIfAborted(signal);
      await this.#ensureDirs();
      const deadline = performance.now() + wait;
      for (let poll = FIRST_POLL_MS; ; poll = Math.min(poll * 2, MAX_POLL_MS)) {
        const task = await this.#claimOnce(worker);
        if (task) return task;
        const left = deadline - performance.now();
        if (left <= 0) return undefined;
        await delay(Math.min(poll, left), signal);
      }
    }

    async list(options?: { state?: TaskState }): Promise<TaskInfo[]> {
      const state = toOptions(options).state;
      if (state !== undefined && !STATES.includes(state as TaskState)) {
        throw invalidArgValue('options.state', state, "must be one of 'ready', 'claimed', 'done', 'failed'");
      }
      await this.#recoverOrphans();
      // A task moving while we look may be seen twice: the later state is the newer one.
      const found = new Map<string, TaskInfo>();
      for (const s of STATES) {
        for (const id of await this.#layout.ids(s)) {
          const record = await this.#layout.readAsync(s, id);
          if (record) found.set(id, { ...record, state: s });
        }
      }
      return [...found.values()].filter((t) => state === undefined || t.state === state).sort((a, b) => (a.id < b.id ? -1 : 1));
    }

    /**
     * One look for a task. Claimers work from a cached listing of `ready/` (re-read when
     * it has nothing claimable left), oldest first; once it meets tasks other claimers
     * are taking, it starts at a random one of the first SPREAD entries, so that N
     * claimers do not all race for the oldest task (order is then oldest-first roughly). Dead claimers' tasks are given back on every re-read and at least every
     * RECOVER_EVERY_MS, and go to the front of this claimer's listing.
     */
    async #claimOnce(worker: string | undefined): Promise<ClaimedTask | undefined> {
      if (performance.now() - this.#recovered >= RECOVER_EVERY_MS) await this.#recoverOrphans();
      const task = await this.#takeCandidate(worker);
      if (task) return task;
      await this.#recoverOrphans();
      this.#candidates = new Set([...this.#candidates, ...(await this.#layout.ids('ready'))]);
      return this.#takeCandidate(worker);
    }

    async #takeCandidate(worker: string | undefined): Promise<ClaimedTask | undefined> {
      const ids = [...this.#candidates];
      const start = this.#contended ? Math.floor(Math.random() * Math.min(ids.length, SPREAD)) : 0;
      let contended = false;
      try {
        for (const id of [...ids.slice(start), ...ids.slice(0, start)]) {
          const outcome = await this.#tryTake(id, worker);
          if (outcome === 'busy') contended = true;
          else if (outcome !== 'blocked') this.#candidates.delete(id);
          if (typeof outcome === 'object') return outcome;
        }
        return undefined;
      } finally {
        this.#contended = contended;
      }
    }

    /** Claims `id` if it is still ready, its dependencies are done and its keys are free. */
    async #tryTake(id: string, worker: string | undefined): Promise<ClaimedTask | 'gone' | 'busy' | 'blocked'> {
      // A look first: taking the lease of a task another claimer took would recreate its lease file.
      if (!this.#layout.has('ready', id)) return 'gone';
      const lease = new deps.FileLock(this.#layout.lease(id));
      if (!lease.tryAcquire()) return 'busy';
      const hold = new Hold(lease, []);
      try {
        const record = this.#layout.read('ready', id);
        if (!record) {
          this.#dropLeaseFile(id); // finished meanwhile: our lock made a fresh lease file
          hold.release();
          return 'gone';
        }
        if (this.#layout.has('claimed', id)) {
          // A claimer died between writing claimed/ and removing ready/: the ready copy is
          // stale, and the claimed one (its lease free) is given back by #recoverOrphans.
          this.#layout.remove('ready', id);
          hold.release();
          return 'gone';
        }
        const gate = await this.#dependencies(record);
        if (gate !== 'done') {
          if (gate !== 'waiting') await this.#end(id, 'ready', 'failed', record, { message: `dependency ${gate} failed` });
          hold.release();
          return gate === 'waiting' ? 'blocked' : 'gone';
        }
        if (!this.#takeKeys(record.exclusive, hold.keys)) {
          hold.release();
          return 'blocked';
        }
        // Written under a new name, then the ready record removed (not renamed, then
        // rewritten): replacing a file by rename makes ext4 start its writeback inside the
        // rename (auto_da_alloc), the largest cost of a claim when it was done that way.
        const claimed: TaskRecord = { ...record, attempts: record.attempts + 1, ...(worker === undefined ? {} : { worker }) };
        await this.#layout.write('claimed', claimed);
        await this.#layout.remove('ready', id);
        return new Claim(this, claimed, hold);
      } catch (err) {
        hold.release();
        throw err;
      }
    }

    /** 'done' when every dependency is done, 'waiting' if one is not yet, else the ID of a failed one. */
    async #dependencies(record: TaskRecord): Promise<string> {
      for (const dep of record.dependsOn) {
        if (this.#layout.has('done', dep)) continue;
        return this.#layout.has('failed', dep) ? dep : 'waiting';
      }
      return 'done';
    }

    /** Takes every key lock or none (never waiting, so never deadlocking). */
    #takeKeys(keys: string[], into: FileLockBase[]): boolean {
      for (const key of keys) {
        const hash = createHash('sha256').update(key).digest('hex');
        const lock = new deps.FileLock(this.#layout.key(hash));
        if (!lock.tryAcquire()) return false;
        into.push(lock);
      }
      return true;
    }

    /** Gives back the tasks of dead claimers: a `claimed/` record whose lease is free. */
    async #recoverOrphans(): Promise<void> {
      this.#recovered = performance.now();
      for (const id of await this.#layout.ids('claimed')) {
        const lease = new deps.FileLock(this.#layout.lease(id));
        if (!lease.tryAcquire()) continue; // its claimer lives
        try {
          const record = this.#layout.read('claimed', id);
          if (!record) {
            this.#dropLeaseFile(id);
            continue;
          }
          // Its claimer may have died before removing the ready copy: that must not outlive the give-back.
          await this.#layout.remove('ready', id);
          if (await this.#giveBack(record, { message: 'its claimer ended without completing it (the process died or released it)' })) {
            this.#candidates = new Set([id, ...this.#candidates]);
          }
        } finally {
          lease.release();
        }
      }
    }

    /** Under the task's lease: back to `ready` (true), or to `failed` when it is out of attempts. */
    async #giveBack(record: TaskRecord, error: TaskError | undefined): Promise<boolean> {
      if (record.attempts >= record.maxAttempts) {
        await this.#end(record.id, 'claimed', 'failed', record, error);
        return false;
      }
      if (error) await this.#layout.write('claimed', { ...record, error });
      await this.#layout.move(record.id, 'claimed', 'ready');
      return true;
    }

    /**
     * Under the task's lease: rewrite the record in place, then move it to its final state.
     * (Killed in between, it is still in `from`, which is handled as if nothing happened.)
     */
    async #end(id: string, from: TaskState, to: 'done' | 'failed', record: TaskRecord, error?: TaskError): Promise<void> {
      const final = error ? { ...record, error } : record;
      if (final !== record || record.result !== undefined) await this.#layout.write(from, final);
      await this.#layout.move(id, from, to);
      this.#dropLeaseFile(id);
    }

    /** A finished task needs no lease file. Native holders may delete theirs (see Locks); the fallback's goes at release. */
    #dropLeaseFile(id: string): void {
      if (backend.implementation === 'native') unlinkIfExists(this.#layout.lease(id));
    }

    #stateOf(id: string): TaskState | undefined {
      return STATES.find((s) => this.#layout.has(s, id));
    }

    #ensureDirs(): Promise<unknown> {
      // Through makeParents, so the directories it creates are flushed into their parents.
      const { durability } = this.#layout;
      this.#ready ??= Promise.all(this.#layout.dirs().map((d) => makeParents(join(d, 'record'), durability))).catch((err: unknown) => {
        this.#ready = undefined;
        throw err;
      });
      return this.#ready;
    }

    /** @internal Claim's way back in: the ends of a claim run under the queue's rules. */
    static end(queue: TaskQueue, id: string, to: 'done' | 'failed', record: TaskRecord, error?: TaskError): Promise<void> {
      return queue.#end(id, 'claimed', to, record, error);
    }
    /** @internal */
    static async giveBack(queue: TaskQueue, record: TaskRecord, error: TaskError | undefined): Promise<void> {
      if (await queue.#giveBack(record, error)) queue.#candidates.add(record.id);
    }
  }

  class Claim implements ClaimedTask {
    readonly id: string;
    readonly data: unknown;
    readonly attempts: number;
    readonly worker: string | undefined;
    #state: 'held' | 'busy' | 'ended' = 'held';

    constructor(
      private readonly queue: TaskQueue,
      private readonly record: TaskRecord,
      private readonly hold: Hold,
    ) {
      this.id = record.id;
      this.data = record.data;
      this.attempts = record.attempts;
      this.worker = record.worker;
      registerDescriptors(this, () => [hold.lease.descriptor(), ...hold.keys.map((key) => key.descriptor())]);
    }

    complete(result?: unknown): Promise<void> {
      if (result !== undefined) serializeJson(result, 'result');
      return this.#finish('complete', () =>
        TaskQueue.end(this.queue, this.id, 'done', { ...this.record, ...(result === undefined ? {} : { result }) }),
      );
    }

    fail(error: unknown, options?: FailOptions): Promise<void> {
      const retry = toOptions(options).retry;
      if (retry !== undefined && typeof retry !== 'boolean') throw invalidArgType('options.retry', 'of type boolean', retry);
      const record = toErrorRecord(error);
      return this.#finish('fail', async () => {
        if (retry) await TaskQueue.giveBack(this.queue, { ...this.record, error: record }, record);
        else await TaskQueue.end(this.queue, this.id, 'failed', this.record, record);
      });
    }

    release(): Promise<void> {
      if (this.#state === 'ended') return Promise.resolve();
      return this.#finish('release', () => TaskQueue.giveBack(this.queue, this.record, undefined));
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

  return { TaskQueue: TaskQueue as TaskQueueConstructor };
}
