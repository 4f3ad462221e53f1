// A task's record and where it lives: one JSON file, `<dir>/<state>/<id>.json`. The
// directory a record sits in *is* the task's state; records move between states by
// rename, and are rewritten (atomically) only by the holder of the task's lease.
//
// The calls a claim makes on one task (a look, a read of a small record, renames, an
// unlink) are synchronous: each is a dentry or page-cache operation of microseconds,
// while as an fs.promises call each was a round trip through the threadpool that cost
// more than the call itself and dominated a claim. What can wait for the disk (flushes,
// durable writes) and what grows with the queue (directory listings) stays async.
import { readFileSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Backend, Durability } from '../backend';
import { isSystemError } from '../errors';
import { parseJson, readIfExists, serializeJson } from '../json-file';
import { syncDir } from '../sync-dir';

/** Where a task is: `ready` to claim, `claimed` by a live claimer, `done` or `failed` for good. */
export type TaskState = 'ready' | 'claimed' | 'done' | 'failed';

/** In the order a task moves through them; `list` prefers the later of two sightings. */
export const STATES: readonly TaskState[] = ['ready', 'claimed', 'done', 'failed'];

/** What a failed task keeps of the error it failed with. */
export interface TaskError {
  /** The error's `name` (`'TypeError'` ...), when it was an `Error`. */
  name?: string;
  /** The error's message; for a value that is not an `Error`, its text (or JSON). */
  message: string;
  /** The error's `code`, when it had a string one (`'ENOENT'` ...). */
  code?: string;
}

export interface TaskRecord {
  id: string;
  data: unknown;
  exclusive: string[];
  dependsOn: string[];
  maxAttempts: number;
  /** Claims handed out so far (a claimer that died counts). */
  attempts: number;
  createdAt: number;
  /** The `worker` named by the latest claim. */
  worker?: string;
  result?: unknown;
  /** Why it failed (in `failed/`), or why its last attempt failed (back in `ready/`). */
  error?: TaskError;
}

/** The files of one queue directory. */
export class Layout {
  constructor(
    readonly dir: string,
    private readonly backend: Backend,
    readonly durability: Durability,
  ) {}

  record(state: TaskState, id: string): string {
    return join(this.dir, state, `${id}.json`);
  }

  /** The task's lease: held by its live claimer (or by whoever moves it), never otherwise. */
  lease(id: string): string {
    return join(this.dir, 'leases', `${id}.lock`);
  }

  /** One lock per exclusive key, held by the claimer of a task naming the key. */
  key(hash: string): string {
    return join(this.dir, 'keys', `${hash}.lock`);
  }

  dirs(): string[] {
    return [...STATES, 'leases', 'keys'].map((name) => join(this.dir, name));
  }

  /** Task IDs in `state`, oldest first (UUIDv7s sort by time). Temp files start with '.'. */
  async ids(state: TaskState): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(join(this.dir, state));
    } catch (err) {
      if (isSystemError(err, 'ENOENT')) return [];
      throw err;
    }
    return names
      .filter((name) => name.endsWith('.json') && !name.startsWith('.'))
      .map((name) => name.slice(0, -'.json'.length))
      .sort();
  }

  /** Whether the task's record is in `state`. */
  has(state: TaskState, id: string): boolean {
    return statSync(this.record(state, id), { throwIfNoEntry: false }) !== undefined;
  }

  /** The record, or undefined when it is not in `state` (any more). */
  read(state: TaskState, id: string): TaskRecord | undefined {
    const path = this.record(state, id);
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (err) {
      if (isSystemError(err, 'ENOENT')) return undefined;
      throw err;
    }
    return parseJson(path, bytes) as TaskRecord | undefined;
  }

  /** `read` without blocking: for `list`, which reads every record. */
  async readAsync(state: TaskState, id: string): Promise<TaskRecord | undefined> {
    const path = this.record(state, id);
    return parseJson(path, await readIfExists(path)) as TaskRecord | undefined;
  }

  /** Replaces the record atomically; without durability in place (no flush to wait for), else on the threadpool. */
  async write(state: TaskState, record: TaskRecord, noClobber = false): Promise<void> {
    const bytes = serializeJson(record, 'task');
    const settings = { durability: this.durability, mode: undefined, noClobber };
    if (this.durability === 'none') this.backend.writeSync(this.record(state, record.id), bytes, settings);
    else await this.backend.write(this.record(state, record.id), bytes, settings);
  }

  /** Removes the record from `state` if it is there; with durability, the removal is flushed. */
  async remove(state: TaskState, id: string): Promise<void> {
    try {
      unlinkSync(this.record(state, id));
    } catch (err) {
      if (isSystemError(err, 'ENOENT')) return;
      throw err;
    }
    if (this.durability !== 'none') await syncDir(join(this.dir, state));
  }

  /** Moves the record; with durability, the destination directory's entry is flushed too. */
  async move(id: string, from: TaskState, to: TaskState): Promise<void> {
    renameSync(this.record(from, id), this.record(to, id));
    if (this.durability !== 'none') await syncDir(join(this.dir, to));
  }
}
