// The log file as this process's appenders hold it: one descriptor, opened for appending
// and kept while appends keep coming (so a burst of them costs no open/close each), and
// re-validated under the log's lock by the inode at the log's path (a replaced log gets a
// descriptor of its own). Under the lock, the appender's I/O is a few page-cache copies:
// a stat, a read of what others appended since it last looked, maybe a truncate, one
// write. Those are made with synchronous calls, in place: each fs.promises call would be
// a round trip through the threadpool, and they dominated an append's cost. The flush,
// which waits for the disk, stays asynchronous.
import { fstatSync, ftruncateSync, readSync, statSync, writeSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { checkFrame } from './frame';
import { FrameWindow, type Position } from './frame-window';

export class LogFile {
  /** Flushes using the descriptor: it stays open until they settle. */
  #flushing = 0;
  #retired = false;
  #closed: Promise<void> | undefined;

  private constructor(
    readonly handle: FileHandle,
    readonly dev: number,
    readonly ino: number,
    private readonly onIdle: () => void,
  ) {}

  static async open(path: string, onIdle: () => void): Promise<LogFile> {
    const handle = await open(path, 'a+');
    try {
      const { dev, ino } = await handle.stat();
      return new LogFile(handle, dev, ino, onIdle);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /** `${dev}:${ino}`: a replaced log file is another file. */
  get id(): string {
    return `${this.dev}:${this.ino}`;
  }

  /** The size of this file. */
  size(): number {
    return fstatSync(this.handle.fd).size;
  }

  /** The size of the file at `path` when it is still this one, else undefined (gone or replaced). */
  sizeIfCurrent(path: string): number | undefined {
    const st = statSync(path, { throwIfNoEntry: false });
    return st && st.ino === this.ino && st.dev === this.dev ? st.size : undefined;
  }

  /**
   * Under the lock: the end of the last whole record, read on from `from` (a record end
   * this process saw before) to `size`; `torn` when bytes after it are not a whole record.
   */
  findEnd(from: Position, size: number): Position & { torn: boolean } {
    const window = new FrameWindow(from);
    for (;;) {
      const step = window.next(checkFrame);
      if (typeof step === 'object') continue;
      if (step === 'stop' || window.readAt >= size) break;
      const more = Buffer.allocUnsafe(Math.min(window.chunkBytes(), size - window.readAt));
      const read = readSync(this.handle.fd, more, 0, more.length, window.readAt);
      if (read === 0) break;
      window.push(more.subarray(0, read));
    }
    const { end, seq } = window.position;
    return { end, seq, torn: end < size };
  }

  /** Under the lock: cuts a torn tail off, then appends `bytes` (the descriptor appends: O_APPEND). */
  append(end: number, torn: boolean, bytes: Buffer): void {
    if (torn) ftruncateSync(this.handle.fd, end);
    for (let at = 0; at < bytes.length; ) at += writeSync(this.handle.fd, bytes, at, bytes.length - at);
  }

  /** Runs a flush of this file, keeping the descriptor open until it settles. */
  async flushing<T>(flush: (handle: FileHandle) => Promise<T>): Promise<T> {
    this.#flushing += 1;
    try {
      return await flush(this.handle);
    } finally {
      this.#flushing -= 1;
      if (this.#retired) void this.#closeIfUnused();
      else if (this.#flushing === 0) this.onIdle();
    }
  }

  get busy(): boolean {
    return this.#flushing > 0;
  }

  /** No more appends through it: closed once its flushes settle. */
  retire(): void {
    this.#retired = true;
    void this.#closeIfUnused();
  }

  #closeIfUnused(): Promise<void> | undefined {
    if (this.#flushing > 0) return undefined;
    // A failed close of a descriptor only read and written through is nothing an append can act on.
    this.#closed ??= this.handle.close().catch(() => undefined);
    return this.#closed;
  }
}
