// One record per workspace, `<stateRoot>/workspaces/<name>.json`, in the library's
// ConcurrentFileStore. Only the holder of a workspace's lease writes its record, so the
// store's per-document lock is never contended for long; readers (list, reclaim) see
// the last committed record, never a torn one.
//
// A record is written before anything of the workspace exists in git (state 'creating'),
// so whatever a killed `create` leaves behind is known to be ours; 'ready' once the
// checkout is done; 'removing' before `remove` starts to take it apart (so a killed
// remove is finished, as asked, by the next reclaim); 'orphaned' when the worktree is
// gone but the branch holds commits nothing else has (kept, listed, never deleted).
import { join } from 'node:path';
import type { Owner } from '../js/lock/owner';

/** What a record says about a workspace's life. */
export type RecordState = 'creating' | 'ready' | 'removing' | 'orphaned';

/** `remove`'s choice about the branch, kept so that a killed remove is finished the same way. */
/** Whether `remove` keeps the branch: `'if-unmerged'` (when it has commits no other ref has), `true` (always), `false` (never). */
export type KeepBranch = 'if-unmerged' | boolean;

export interface WorkspaceRecord {
  version: 1;
  name: string;
  /** The worktree's directory. */
  path: string;
  /** The branch name (without `refs/heads/`). */
  branch: string;
  /** What the workspace was created from, as given (`origin/main`, a commit ...). */
  base: string;
  /** The commit the branch started at; set when registered. */
  baseCommit?: string;
  state: RecordState;
  /** The process that took the lease last (kernel lease) or created it. */
  owner: Owner;
  /** A pid lease (`ownerPid`): owned while this process lives, whether or not a kernel lease is held. */
  pidLease?: Owner;
  createdAt: string;
  task?: string;
  /** Set with state 'removing'. */
  keepBranch?: KeepBranch;
}

/** The store operations the records need (a ConcurrentFileStore). */
export interface DocumentStore {
  read<T>(name: string): Promise<T | undefined>;
  update<T>(name: string, fn: (current: T | undefined) => T | Promise<T>): Promise<T>;
  delete(name: string): Promise<boolean>;
  list(prefix?: string): Promise<string[]>;
}

const SUFFIX = '.json';

/** Where the records live, given the state root. */
export function recordsDir(stateRoot: string): string {
  return join(stateRoot, 'workspaces');
}

/** The workspaces' records, by name. */
export class Records {
  constructor(private readonly store: DocumentStore) {}

  read(name: string): Promise<WorkspaceRecord | undefined> {
    return this.store.read<WorkspaceRecord>(`${name}${SUFFIX}`);
  }

  write(record: WorkspaceRecord): Promise<WorkspaceRecord> {
    return this.store.update<WorkspaceRecord>(`${record.name}${SUFFIX}`, () => record);
  }

  delete(name: string): Promise<boolean> {
    return this.store.delete(`${name}${SUFFIX}`);
  }

  async names(): Promise<string[]> {
    const files = await this.store.list();
    return files.filter((file) => file.endsWith(SUFFIX)).map((file) => file.slice(0, -SUFFIX.length));
  }

  async all(): Promise<WorkspaceRecord[]> {
    const records = await Promise.all((await this.names()).map((name) => this.read(name)));
    return records.filter((record): record is WorkspaceRecord => record !== undefined);
  }
}
