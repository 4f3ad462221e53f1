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
import { join, resolve } from 'node:path';
import type { Backend, Durability } from '../backend';
import { invalidArgType, invalidArgValue, throwIfAborted } from '../errors';
import { serializeJson } from '../json-file';
import type { FileLockConstructor } from '../lock';
import { makeParents } from '../parents';
import { delay } from '../retry';
import { toOptions, toPath, toSignal, toTimeout, toWriteSettings } from '../validate';
import { toMaxAttempts, toStrings, toTaskIds } from './arguments';
import { Claim, type ClaimEnds, type ClaimedTask } from './claim';
import { TaskMoves } from './moves';
import { Layout, STATES, type TaskError, type TaskRecord, type TaskState } from './record';

export type { ClaimedTask, FailOptions } from './claim';
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

/** What a TaskQueue is built on (see `createTaskApi`). */
export interface TaskDeps {
  backend: Backend;
  FileLock: FileLockConstructor;
  uuidv7: () => string;
}

/** Polling while waiting for a ready task: a dead claimer frees its task without any file event. */
const FIRST_POLL_MS = 1;
const MAX_POLL_MS = 50;
/** Claimers start at a random one of the first SPREAD ready tasks. */
const SPREAD = 16;
/** The longest a claim goes without looking for dead claimers' tasks. */
const RECOVER_EVERY_MS = 20;

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

/**
 * A task queue in a directory for any number of processes (the type of a `TaskQueue`).
 * A claimed task is held by its claimer's kernel lock: a claimer that dies gives it back
 * at once, and a live one is never robbed of it, however slow. See `createTaskApi` for
 * the class users get.
 */
export abstract class TaskQueueBase {
  /** The queue's directory, as an absolute path; created on first use. */
  readonly dir: string;
  readonly #layout: Layout;
  readonly #moves: TaskMoves;
  readonly #uuidv7: () => string;
  /** How a claim of this queue ends, under its locks. */
  readonly #ends: ClaimEnds;
  #ready: Promise<unknown> | undefined;
  /** This instance's view of `ready/` (see #claimOnce). */
  #candidates = new Set<string>();
  /** Whether the last look met tasks other claimers were taking: then start at a random one. */
  #contended = false;
  /** When dead claimers' tasks were last looked for (performance.now()). */
  #recovered = Number.NEGATIVE_INFINITY;

  protected constructor(deps: TaskDeps, dir: string | URL, options?: TaskQueueOptions) {
    this.dir = resolve(toPath(dir, 'dir'));
    const durability = toWriteSettings({ durability: toOptions(options).durability ?? 'none' }).durability;
    this.#layout = new Layout(this.dir, deps.backend, durability);
    this.#moves = new TaskMoves(this.#layout, deps.FileLock, deps.backend.implementation);
    this.#uuidv7 = deps.uuidv7;
    this.#ends = {
      end: (to, record, error) => this.#moves.end(record.id, 'claimed', to, record, error),
      giveBack: async (record, error) => {
        if (await this.#moves.giveBack(record, error)) this.#candidates.add(record.id);
      },
    };
  }

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
  async add(data: unknown, options?: AddTaskOptions): Promise<string> {
    const opts = toOptions(options);
    const exclusive = toStrings(opts.exclusive, 'options.exclusive');
    const dependsOn = toTaskIds(opts.dependsOn, 'options.dependsOn');
    const maxAttempts = toMaxAttempts(opts.maxAttempts);
    serializeJson(data, 'data');
    await this.#ensureDirs();
    for (const dep of dependsOn) {
      if (this.#stateOf(dep) === undefined)
        throw invalidArgValue('options.dependsOn', dep, `must name a task of the queue in '${this.dir}'`);
    }
    const record: TaskRecord = { id: this.#uuidv7(), data, exclusive, dependsOn, maxAttempts, attempts: 0, createdAt: Date.now() };
    await this.#layout.write('ready', record, true);
    return record.id;
  }

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
  async claim(options?: ClaimOptions): Promise<ClaimedTask | undefined> {
    const opts = toOptions(options);
    if (opts.worker !== undefined && typeof opts.worker !== 'string') throw invalidArgType('options.worker', 'of type string', opts.worker);
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

  /**
   * Every task (or those in `state`), oldest first. Tasks of dead claimers are given back first.
   * @param options `state`: only tasks in it.
   * @returns A snapshot of the tasks.
   * @throws `ERR_INVALID_ARG_VALUE` for an unknown state; `ECORRUPT`; OS errors.
   * @example
   * const failed = await q.list({ state: 'failed' });
   */
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
   * claimers do not all race for the oldest task (order is then oldest-first roughly).
   * Dead claimers' tasks are given back on every re-read and at least every
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
        const outcome = await this.#moves.tryTake(id, worker);
        if (outcome === 'busy') contended = true;
        else if (outcome !== 'blocked') this.#candidates.delete(id);
        if (typeof outcome === 'object') return new Claim(outcome.record, outcome.hold, this.#ends);
      }
      return undefined;
    } finally {
      this.#contended = contended;
    }
  }

  /** Gives back the tasks of dead claimers, to the front of this claimer's listing. */
  #recoverOrphans(): Promise<void> {
    this.#recovered = performance.now();
    return this.#moves.recoverOrphans((id) => {
      this.#candidates = new Set([id, ...this.#candidates]);
    });
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
}

/** Binds TaskQueueBase to an implementation: the `TaskQueue` class users get. */
export function createTaskApi(backend: Backend, deps: Omit<TaskDeps, 'backend'>) {
  const taskDeps: TaskDeps = { backend, ...deps };
  class TaskQueue extends TaskQueueBase {
    constructor(dir: string | URL, options?: TaskQueueOptions) {
      super(taskDeps, dir, options);
    }
  }
  return { TaskQueue: TaskQueue as TaskQueueConstructor };
}
