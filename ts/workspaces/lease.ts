// Who owns a workspace. Ownership is a kernel-lock lease, `<stateRoot>/leases/<name>.lock`
// (the library's FileLock): held by the owning process and by the git processes it starts
// for the workspace (they inherit the descriptor), so "free" means that nobody is still
// working there, and a dead owner's workspace is free the moment the last of them ends.
//
// For integrations where no process of ours stays alive (a hook that prints a path and
// exits), a record may carry a pid lease: the pid, start time and boot of the process that
// owns it, judged as the JS fallback judges lock owners (js/lock/owner.ts): owned until that
// process is provably gone. It cannot see that process's children, nor a process on
// another host or in another PID namespace (those are never judged gone).
import { mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { HeldLock } from '../held-lock';
import { isOwnerGone, type Owner } from '../js/lock/owner';
import type { FileLockBase, FileLockConstructor } from '../lock';
import type { LockStatus } from '../lock-status';
import { WorkspaceBusyError, type WorkspaceOwner } from './errors';
import type { Records, WorkspaceRecord } from './records';

/** A held lease of workspace `name`. */
export class Lease extends HeldLock {
  constructor(
    readonly name: string,
    lock: FileLockBase,
  ) {
    super(lock);
  }

  /** The descriptors to hand to a child that works in the workspace (empty for the fallback). */
  descriptors(): number[] {
    const fd = this.descriptor();
    return fd === undefined ? [] : [fd];
  }
}

/** Whether a record's pid lease names a process that may still run. */
export function pidLeaseLive(record: WorkspaceRecord | undefined): boolean {
  return record?.pidLease !== undefined && !isOwnerGone(record.pidLease);
}

/** The leases of one repository. */
export class Leases {
  #dirReady: Promise<unknown> | undefined;

  constructor(
    private readonly stateRoot: string,
    private readonly FileLock: FileLockConstructor,
    private readonly lockStatus: (path: string) => Promise<LockStatus>,
    private readonly records: Records,
  ) {}

  path(name: string): string {
    return join(this.stateRoot, 'leases', `${name}.lock`);
  }

  /** The kernel lease if it is free right now (never waits). */
  async tryTake(name: string): Promise<Lease | undefined> {
    this.#dirReady ??= mkdir(join(this.stateRoot, 'leases'), { recursive: true });
    await this.#dirReady;
    const lock = new this.FileLock(this.path(name));
    return lock.tryAcquire() ? new Lease(name, lock) : undefined;
  }

  /**
   * Takes `name`'s workspace: its kernel lease, and only if its record has no live pid
   * lease. Rejects with WorkspaceBusyError naming the owner otherwise.
   */
  async claim(name: string): Promise<{ lease: Lease; record: WorkspaceRecord | undefined }> {
    const lease = await this.tryTake(name);
    if (!lease) throw await this.busy(name);
    try {
      const record = await this.records.read(name);
      if (pidLeaseLive(record)) throw await this.busy(name, record);
      return { lease, record };
    } catch (err) {
      lease.release();
      throw err;
    }
  }

  /**
   * Whether someone alive owns `name` now. Looks without taking the lease where the OS
   * lists kernel locks (Linux), so that looking never makes a claimer see it busy.
   */
  async isOwned(name: string, record: WorkspaceRecord | undefined): Promise<boolean> {
    if (pidLeaseLive(record)) return true;
    return (await this.lockStatus(this.path(name))).locked;
  }

  /** The error for a workspace someone owns, naming them as well as can be told. */
  async busy(name: string, known?: WorkspaceRecord): Promise<WorkspaceBusyError> {
    return new WorkspaceBusyError(name, await this.owner(name, known));
  }

  /** The live owner of `name`: its pid lease, else the lease's holder as the kernel names it, else the record's owner. */
  async owner(name: string, known?: WorkspaceRecord): Promise<WorkspaceOwner | undefined> {
    const record = known ?? (await this.records.read(name).catch(() => undefined));
    if (record?.pidLease && !isOwnerGone(record.pidLease)) return ownerOf(record.pidLease);
    const status = await this.lockStatus(this.path(name)).catch(() => undefined);
    const holder = status?.holders.find((h) => h.pid > 0);
    if (holder) return { pid: holder.pid, host: holder.host ?? (record?.owner.pid === holder.pid ? record.owner.host : hostname()) };
    if (record?.owner && !isOwnerGone(record.owner)) return ownerOf(record.owner);
    return undefined;
  }
}

function ownerOf(owner: Owner): WorkspaceOwner {
  return { pid: owner.pid, host: owner.host };
}
