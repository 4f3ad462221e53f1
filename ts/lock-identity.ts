// A lock file is identified by the file itself (device and inode), not by how its path
// is spelled: `a.lock`, `./a.lock`, a symlink to it and a hard link are one lock. That
// is what the kernel locks, so it is what `lockMany` orders and dedupes by and what a
// nested `withLock` recognises as "already held here".
import * as fs from 'node:fs';
import { systemError } from './errors';

export interface LockIdentity {
  dev: bigint;
  ino: bigint;
  /** `dev:ino`, for maps and sets. */
  key: string;
}

/** O_NONBLOCK: a FIFO at the path must not block the open (the lock refuses it later). */
const CREATE_FLAGS = fs.constants.O_RDONLY | fs.constants.O_CREAT | (fs.constants.O_NONBLOCK ?? 0);

function identity(stat: fs.BigIntStats): LockIdentity {
  return { dev: stat.dev, ino: stat.ino, key: `${stat.dev}:${stat.ino}` };
}

/** Creates the lock file if missing (as taking the lock would) and identifies it. */
export async function lockFileIdentity(path: string): Promise<LockIdentity> {
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(path, CREATE_FLAGS, 0o666);
  } catch (err) {
    throw renamed(err, path);
  }
  try {
    return identity(await handle.stat({ bigint: true }));
  } finally {
    await handle.close();
  }
}

/** The identity of the file at `path` now, or undefined when there is none. Never creates. */
export function currentIdentity(path: string): LockIdentity | undefined {
  try {
    return identity(fs.statSync(path, { bigint: true }));
  } catch {
    return undefined;
  }
}

/** Canonical lock order: by device, then inode, numerically (the same in every process). */
export function compareIdentities(a: LockIdentity, b: LockIdentity): number {
  if (a.dev !== b.dev) return a.dev < b.dev ? -1 : 1;
  if (a.ino !== b.ino) return a.ino < b.ino ? -1 : 1;
  return 0;
}

function renamed(err: unknown, path: string): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  const syscall = (err as NodeJS.ErrnoException).syscall;
  if (typeof code !== 'string' || typeof syscall !== 'string') return err;
  return systemError({ code, syscall, path });
}
