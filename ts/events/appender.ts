// The appends of one EventLog object. Appends are made under the log's lock,
// `${path}.lock`: the appender finds the end of the last whole record (from where it last
// looked, so an append reads only what others added since), cuts off any torn tail a
// killed appender left there, and writes its records there with one write. So `seq` is
// contiguous (1, 2, 3 ...) and torn bytes never sit between good records.
//
// The appends queue up while one of them is under the lock: each time the lock is had,
// every queued append is written at once (one stat, one read of others' records, one
// write: ./log-file.ts). The flush an append waits for is made after the lock is let go,
// and shared by the appends of this object written meanwhile (group commit,
// ./flush-group.ts) and with other processes' appends (./shared-flush.ts).
import { dirname } from 'node:path';
import type { Durability } from '../backend';
import type { FileLockBase, FileLockConstructor } from '../lock';
import { syncDir } from '../sync-dir';
import { FlushGroup } from './flush-group';
import { encodeFrame } from './frame';
import type { Position } from './frame-window';
import { LogFile } from './log-file';
import { SharedFlush } from './shared-flush';

/** The most appends, and bytes, one write takes from the queue. */
const MAX_BATCH_APPENDS = 4096;
const MAX_BATCH_BYTES = 4 * 1024 * 1024;

/** An append waiting in this object's queue for the lock. */
interface Queued {
  payload: Buffer;
  resolve: (seq: number) => void;
  reject: (err: unknown) => void;
}

/** A batch written under the lock: the seq of its first record, and the flush group that flushes it. */
interface Written {
  firstSeq: number;
  group: FlushGroup;
  n: number;
}

export class Appender {
  readonly #lock: FileLockBase;
  /** Where this process last saw the end of the log (under the lock), and on which file. */
  #known: (Position & { ino: number }) | undefined;
  /** The appends of this object that share flushes (group commit). */
  #group: FlushGroup | undefined;
  /** Flushes shared with other processes' appends (see ./shared-flush.ts). */
  readonly #shared: SharedFlush;
  /** Appends waiting for the lock, and whether a drain of them is running. */
  #queue: Queued[] = [];
  #draining = false;
  /** Who waits for the drain to write its next batch (or to end). */
  #wake: { promise: Promise<void>; resolve: () => void } | undefined;
  /** The log's descriptor, kept while appends come; closed once idle. */
  #file: LogFile | undefined;
  #idleCheck = false;
  /** This object's flush of the log's directory (so the log's own name is durable), shared. */
  #dirFlush: Promise<void> | undefined;

  constructor(
    readonly path: string,
    readonly durability: Durability,
    FileLock: FileLockConstructor,
  ) {
    this.#lock = new FileLock(`${path}.lock`);
    this.#shared = new SharedFlush(path, durability === 'full' ? 'full' : 'data', FileLock);
  }

  /** Appends one encoded payload; resolves with its seq once it is flushed as `durability` asks. */
  async append(payload: Buffer): Promise<number> {
    const seq = await new Promise<number>((resolve, reject) => {
      this.#queue.push({ payload, resolve, reject });
      this.#startDrain();
    });
    // The first appends of each object (whichever process created the file) also wait
    // for one flush of the directory: until then the log's own name could vanish in a
    // power cut. It started after the file existed, so it covers every later append.
    if (this.durability !== 'none') await this.#flushDir();
    return seq;
  }

  /**
   * Starts a drain unless one is running, a microtask from now: the appends made before
   * then (a loop of calls, or the callers a flush just resolved, each appending again)
   * go into its first write together, rather than the first alone.
   */
  #startDrain(): void {
    if (this.#draining) return;
    this.#draining = true;
    queueMicrotask(() => void this.#drain());
  }

  /**
   * Writes the queued appends, a batch per turn of the lock, until none is left. A
   * batch's flush is not waited for here: the next batch is written meanwhile, and the
   * flush group decides when to flush (once nothing more is on its way to write).
   */
  async #drain(): Promise<void> {
    this.#draining = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#takeBatch();
        let written: Written;
        try {
          written = await this.#writeBatch(batch);
        } catch (err) {
          for (const a of batch) a.reject(err);
          continue;
        } finally {
          this.#wakeWaiters();
        }
        this.#settleWhenFlushed(batch, written);
      }
    } finally {
      this.#draining = false;
      this.#wakeWaiters();
      this.#closeWhenIdle();
    }
  }

  /** Resolves the batch's appends with their seqs once its flush group has flushed them. */
  #settleWhenFlushed(batch: Queued[], written: Written): void {
    const settle = () => {
      for (const [i, a] of batch.entries()) a.resolve(written.firstSeq + i);
    };
    if (this.durability === 'none') settle();
    else
      written.group
        .flushed(written.n, () => this.#othersWriting())
        .then(settle, (err: unknown) => {
          for (const a of batch) a.reject(err);
        });
  }

  #takeBatch(): Queued[] {
    let bytes = 0;
    let n = 0;
    while (n < this.#queue.length && n < MAX_BATCH_APPENDS && (n === 0 || bytes + this.#queue[n]!.payload.length <= MAX_BATCH_BYTES)) {
      bytes += this.#queue[n]!.payload.length;
      n++;
    }
    return this.#queue.splice(0, n);
  }

  /** Under the lock: finds the end, cuts a torn tail, writes the batch's records in one write. */
  async #writeBatch(batch: Queued[]): Promise<Written> {
    // Uncontended, the lock is taken without leaving the thread (a flock); else waited for.
    if (!this.#lock.tryAcquire()) await this.#lock.acquire();
    try {
      const { file, size } = this.#keptFile() ?? (await this.#reopen());
      const known = this.#known?.ino === file.ino && this.#known.end <= size ? this.#known : { end: 0, seq: 0 };
      const end = file.findEnd(known, size);
      const frames = batch.map((a, i) => encodeFrame(end.seq + 1 + i, a.payload));
      const bytes = frames.length === 1 ? frames[0]! : Buffer.concat(frames);
      // The end found stays true if the write fails: it leaves a torn tail the next append cuts.
      this.#known = { end: end.end, seq: end.seq, ino: file.ino };
      file.append(end.end, end.torn, bytes);
      const written = end.end + bytes.length;
      this.#known = { end: written, seq: end.seq + batch.length, ino: file.ino };
      const group = this.#groupFor(file.id);
      const n = group.wrote(() => file.flushing((handle) => this.#shared.flush(handle, file.ino, written)));
      return { firstSeq: end.seq + 1, group, n };
    } finally {
      this.#lock.release();
    }
  }

  /** Under the lock: the kept descriptor and its size, if the log's path still names its file. */
  #keptFile(): { file: LogFile; size: number } | undefined {
    const file = this.#file;
    const size = file?.sizeIfCurrent(this.path);
    return file && size !== undefined ? { file, size } : undefined;
  }

  /** Under the lock: a descriptor of the file now at the log's path (the kept one was gone or replaced: this is a new log). */
  async #reopen(): Promise<{ file: LogFile; size: number }> {
    this.#file?.retire();
    const file = await LogFile.open(this.path, () => this.#closeWhenIdle());
    this.#file = file;
    return { file, size: file.size() }; // of the file opened, even if the path changed since
  }

  /** Closes the descriptor once no append is queued or being flushed (checked after this turn of the event loop). */
  #closeWhenIdle(): void {
    if (this.#idleCheck) return;
    this.#idleCheck = true;
    setImmediate(() => {
      this.#idleCheck = false;
      const file = this.#file;
      if (!file || this.#draining || this.#queue.length > 0 || file.busy) return;
      this.#file = undefined;
      file.retire();
    });
  }

  #flushDir(): Promise<void> {
    this.#dirFlush ??= syncDir(dirname(this.path)).catch((err: unknown) => {
      this.#dirFlush = undefined; // the next append tries again
      throw err;
    });
    return this.#dirFlush;
  }

  #wakeWaiters(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.resolve();
  }

  /** Undefined when no append of this object is on its way to write, else a promise of the next write (or the drain's end). */
  #othersWriting(): Promise<void> | undefined {
    if (!this.#draining) return undefined;
    if (!this.#wake) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => {
        resolve = r;
      });
      this.#wake = { promise, resolve };
    }
    return this.#wake.promise;
  }

  /** The flush group of the file under the lock (a new one if the log file was replaced). */
  #groupFor(file: string): FlushGroup {
    if (this.#group?.file !== file) this.#group = new FlushGroup(file);
    return this.#group;
  }
}
