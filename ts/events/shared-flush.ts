// Flushes of one log shared across processes (group commit between processes; within one
// EventLog object, ./flush-group.ts gathers the appends first). fdatasync flushes a file's
// data whichever process or descriptor wrote it, so an append is durable once any flush
// that started after its write has succeeded. The flusher of the moment holds
// `${log}.flush.lock`; before it flushes it notes the file's size, and after it has
// flushed it records that size in `${log}.flushed` (a 24-byte mark: inode, flushed end,
// failed end). The next appender to take the lock whose record ends at or before the
// recorded end is done without flushing; one whose record ends after it flushes
// everything written so far. A failed flush records how far it was to reach: every append
// it was to cover fails as well, since a later flush may "succeed" with the data already
// dropped (fsyncgate). The mark coordinates live processes only and is never flushed: after
// a crash nobody waits on it, and a replaced log (another inode) ignores it.
import { closeSync, constants, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type { Durability } from '../backend';
import { systemError } from '../errors';
import type { FileLockBase, FileLockConstructor } from '../lock';

interface Mark {
  ino: number;
  /** Every byte before this offset is flushed. */
  flushed: number;
  /** A flush meant to reach this offset failed: appends ending at or before it are not durable. */
  failed: number;
}

const MARK_BYTES = 24;

export class SharedFlush {
  readonly #lock: FileLockBase;
  readonly #markPath: string;

  constructor(
    readonly logPath: string,
    readonly durability: Exclude<Durability, 'none'>,
    FileLock: FileLockConstructor,
  ) {
    this.#lock = new FileLock(`${logPath}.flush.lock`);
    this.#markPath = `${logPath}.flushed`;
  }

  /** Resolves once the bytes of `log` (inode `ino`) before `end` are flushed, by us or by another process. */
  async flush(log: FileHandle, ino: number, end: number): Promise<void> {
    // Uncontended, the lock is taken without leaving the thread (a flock); else waited for.
    if (!this.#lock.tryAcquire()) await this.#lock.acquire();
    // Reads and writes of the 24-byte mark are page-cache copies: done in place, not on the threadpool.
    const markFd = openSync(this.#markPath, constants.O_RDWR | constants.O_CREAT);
    try {
      const mark = readMark(markFd, ino);
      if (end <= mark.failed) throw unknownDurability(this.logPath);
      if (end <= mark.flushed) return;
      const { size } = fstatSync(log.fd); // at least `end`: our write is done
      try {
        await (this.durability === 'full' ? log.sync() : log.datasync());
      } catch (err) {
        writeMark(markFd, { ...mark, ino, failed: size });
        throw err;
      }
      writeMark(markFd, { ...mark, ino, flushed: size });
    } finally {
      closeSync(markFd);
      this.#lock.release();
    }
  }
}

function readMark(fd: number, ino: number): Mark {
  const bytes = Buffer.alloc(MARK_BYTES);
  const read = readSync(fd, bytes, 0, MARK_BYTES, 0);
  const mark = {
    ino: Number(bytes.readBigUInt64LE(0)),
    flushed: Number(bytes.readBigUInt64LE(8)),
    failed: Number(bytes.readBigUInt64LE(16)),
  };
  return read === MARK_BYTES && mark.ino === ino ? mark : { ino, flushed: 0, failed: 0 };
}

function writeMark(fd: number, mark: Mark): void {
  const bytes = Buffer.alloc(MARK_BYTES);
  bytes.writeBigUInt64LE(BigInt(mark.ino), 0);
  bytes.writeBigUInt64LE(BigInt(mark.flushed), 8);
  bytes.writeBigUInt64LE(BigInt(mark.failed), 16);
  writeSync(fd, bytes, 0, MARK_BYTES, 0);
}

function unknownDurability(path: string): Error {
  return systemError({
    code: 'EIO',
    syscall: 'fdatasync',
    path,
    message: `EIO: i/o error, fdatasync '${path}' (a flush that was to cover this append failed: it may not be durable)`,
  });
}
