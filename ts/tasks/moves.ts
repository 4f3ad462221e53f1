// Every move of a task between state directories, each made by the holder of the task's
// lease (see the header of ./queue.ts): taking a ready task, giving back a dead
// claimer's, and ending a claim as done or failed.
import { createHash } from 'node:crypto';
import { unlinkSync } from 'node:fs';
import type { Backend } from '../backend';
import { isSystemError } from '../errors';
import type { FileLockBase, FileLockConstructor } from '../lock';
import type { Layout, TaskError, TaskRecord, TaskState } from './record';

/** The locks a claim holds: the task's lease and its key locks. */
export class Hold {
  constructor(
    readonly lease: FileLockBase,
    readonly keys: FileLockBase[],
  ) {}
  release(): void {
    for (const key of this.keys.reverse()) if (key.isLocked) key.release();
    if (this.lease.isLocked) this.lease.release();
  }
}

/** A ready task taken: its record as claimed, and the locks that hold it. */
export interface Taken {
  record: TaskRecord;
  hold: Hold;
}

/** Why a ready task was not taken: finished or failed meanwhile, another claimer's lease, or waiting on its dependencies or keys. */
export type NotTaken = 'gone' | 'busy' | 'blocked';

function unlinkIfExists(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if (!isSystemError(err, 'ENOENT')) throw err;
  }
}

/** The moves of one queue's tasks. */
export class TaskMoves {
  constructor(
    private readonly layout: Layout,
    private readonly FileLock: FileLockConstructor,
    private readonly implementation: Backend['implementation'],
  ) {}

  /** Claims `id` if it is still ready, its dependencies are done and its keys are free. */
  async tryTake(id: string, worker: string | undefined): Promise<Taken | NotTaken> {
    // A look first: taking the lease of a task another claimer took would recreate its lease file.
    if (!this.layout.has('ready', id)) return 'gone';
    const lease = new this.FileLock(this.layout.lease(id));
    if (!lease.tryAcquire()) return 'busy';
    const hold = new Hold(lease, []);
    try {
      const taken = await this.#takeLeased(id, worker, hold);
      if (typeof taken !== 'object') hold.release();
      return taken;
    } catch (err) {
      hold.release();
      throw err;
    }
  }

  /** `tryTake` once the lease is held; the caller releases `hold` unless the task is taken. */
  async #takeLeased(id: string, worker: string | undefined, hold: Hold): Promise<Taken | NotTaken> {
    const record = this.layout.read('ready', id);
    if (!record) {
      this.dropLeaseFile(id); // finished meanwhile: our lock made a fresh lease file
      return 'gone';
    }
    if (this.layout.has('claimed', id)) {
      // A claimer died between writing claimed/ and removing ready/: the ready copy is
      // stale, and the claimed one (its lease free) is given back by recoverOrphans.
      await this.layout.remove('ready', id);
      return 'gone';
    }
    const gate = this.#dependencies(record);
    if (gate !== 'done') {
      if (gate !== 'waiting') await this.end(id, 'ready', 'failed', record, { message: `dependency ${gate} failed` });
      return gate === 'waiting' ? 'blocked' : 'gone';
    }
    if (!this.#takeKeys(record.exclusive, hold.keys)) return 'blocked';
    // Written under a new name, then the ready record removed (not renamed, then
    // rewritten): replacing a file by rename makes ext4 start its writeback inside the
    // rename (auto_da_alloc), the largest cost of a claim when it was done that way.
    const claimed: TaskRecord = { ...record, attempts: record.attempts + 1, ...(worker === undefined ? {} : { worker }) };
    await this.layout.write('claimed', claimed);
    await this.layout.remove('ready', id);
    return { record: claimed, hold };
  }

  /** 'done' when every dependency is done, 'waiting' if one is not yet, else the ID of a failed one. */
  #dependencies(record: TaskRecord): string {
    for (const dep of record.dependsOn) {
      if (this.layout.has('done', dep)) continue;
      return this.layout.has('failed', dep) ? dep : 'waiting';
    }
    return 'done';
  }

  /** Takes every key lock or none (never waiting, so never deadlocking). */
  #takeKeys(keys: string[], into: FileLockBase[]): boolean {
    for (const key of keys) {
      const hash = createHash('sha256').update(key).digest('hex');
      const lock = new this.FileLock(this.layout.key(hash));
      if (!lock.tryAcquire()) return false;
      into.push(lock);
    }
    return true;
  }

  /** Gives back the tasks of dead claimers (a `claimed/` record whose lease is free); `onReady` gets each one put back to `ready`. */
  async recoverOrphans(onReady: (id: string) => void): Promise<void> {
    for (const id of await this.layout.ids('claimed')) {
      const lease = new this.FileLock(this.layout.lease(id));
      if (!lease.tryAcquire()) continue; // its claimer lives
      try {
        const record = this.layout.read('claimed', id);
        if (!record) {
          this.dropLeaseFile(id);
          continue;
        }
        // Its claimer may have died before removing the ready copy: that must not outlive the give-back.
        await this.layout.remove('ready', id);
        if (await this.giveBack(record, { message: 'its claimer ended without completing it (the process died or released it)' })) {
          onReady(id);
        }
      } finally {
        lease.release();
      }
    }
  }

  /** Under the task's lease: back to `ready` (true), or to `failed` when it is out of attempts. */
  async giveBack(record: TaskRecord, error: TaskError | undefined): Promise<boolean> {
    if (record.attempts >= record.maxAttempts) {
      await this.end(record.id, 'claimed', 'failed', record, error);
      return false;
    }
    if (error) await this.layout.write('claimed', { ...record, error });
    await this.layout.move(record.id, 'claimed', 'ready');
    return true;
  }

  /**
   * Under the task's lease: rewrite the record in place, then move it to its final state.
   * (Killed in between, it is still in `from`, which is handled as if nothing happened.)
   */
  async end(id: string, from: TaskState, to: 'done' | 'failed', record: TaskRecord, error?: TaskError): Promise<void> {
    const final = error ? { ...record, error } : record;
    if (final !== record || record.result !== undefined) await this.layout.write(from, final);
    await this.layout.move(id, from, to);
    this.dropLeaseFile(id);
  }

  /** A finished task needs no lease file. Native holders may delete theirs (see Locks); the fallback's goes at release. */
  dropLeaseFile(id: string): void {
    if (this.implementation === 'native') unlinkIfExists(this.layout.lease(id));
  }
}
