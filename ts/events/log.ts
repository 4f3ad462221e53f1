// EventLog: an append-only log of JSON events shared by any number of processes, with no
// server. Records are framed and checksummed (./frame.ts). Appends are made under the
// log's lock, `${path}.lock`: the appender finds the end of the last whole record (from
// where it last looked, so an append reads only what others added since), cuts off any
// torn tail a killed appender left there, and writes its records there with one write.
// So `seq` is contiguous (1, 2, 3 ...), torn bytes never sit between good records, and a
// reader, which checks every checksum and stops at the first record that is not whole,
// never sees a torn or interleaved record. `tail` waits at the end for the file to change
// (fs.watch: inotify on Linux) and polls slowly as a backstop.
//
// The appends of one EventLog object queue up while one of them is under the lock: each
// time the lock is had, every queued append is written at once (one stat, one read of
// others' records, one write: ./log-file.ts). The flush an append waits for is made after
// the lock is let go, and shared by the appends of this object written meanwhile (group
// commit, ./flush-group.ts) and with other processes' appends (./shared-flush.ts).
import { watch } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Durability } from '../backend';
import { invalidArgType, isSystemError, outOfRange, throwIfAborted } from '../errors';
import { serializeJson } from '../json-file';
import type { FileLockBase, FileLockConstructor } from '../lock';
import { syncDir } from '../sync-dir';
import { toOptions, toPath, toSignal, toWriteSettings } from '../validate';
import { FlushGroup } from './flush-group';
import { decodeFrame, encodeFrame, type LogEvent } from './frame';
import { LogFile, type Position } from './log-file';
import { SharedFlush } from './shared-flush';

export type { LogEvent } from './frame';
export type { Position } from './log-file';

/** Options of `new EventLog(path, options)`. */
export interface EventLogOptions {
  /** How hard each append is flushed before it resolves. Default `'data'`. */
  durability?: Durability;
}

/** The part of the store a consumer keeps its cursor in (structural, to avoid a cycle). */
interface CursorStore {
  read<T>(name: string): Promise<T | undefined>;
  update<T>(name: string, fn: (current: T | undefined) => T | Promise<T>): Promise<T>;
}

interface Deps {
  FileLock: FileLockConstructor;
  openStore: (dir: string) => CursorStore;
}

/**
 * A durable cursor: iterating yields the events after the last acknowledged one (and
 * waits for more, like `tail`); `ack(seq)` records progress in the store beside the log,
 * `${path}.consumers/<name>.json`, so a restarted consumer resumes there. Events after the
 * last ack are delivered again after a crash (at-least-once). One cursor per name: two
 * processes iterating one name each see every event.
 */
export interface LogConsumer extends AsyncIterable<LogEvent> {
  /** The cursor's name, as given to `consumer(name)`. */
  readonly name: string;
  /** Records that every event up to `seq` is handled (never moves the cursor back). */
  ack(seq: number): Promise<void>;
  /** The last acknowledged seq (0: none). */
  position(): Promise<number>;
}

/**
 * An append-only log of JSON events for any number of processes (the type of an
 * `EventLog`). Readers never see a torn or interleaved record, even when an appender is
 * SIGKILLed mid-write: the torn tail is cut off by the next appender.
 */
export interface EventLogBase {
  /** The log file, as an absolute path (created by the first append). */
  readonly path: string;
  /**
   * A durable cursor named `name`: iterate it for the events after its last `ack`, waiting
   * for more; its position lives in `${path}.consumers/${name}.json`.
   * @param name The cursor's name; a store document name without `.json` (its rules apply when it is used).
   * @param options `signal`: ends the iteration with `ABORT_ERR`.
   * @returns The cursor (see `LogConsumer`).
   * @throws `ERR_INVALID_ARG_TYPE` for a non-string name or a bad signal.
   * @example
   * const c = log.consumer('indexer');
   * for await (const e of c) { await index(e.data); await c.ack(e.seq); }
   */
  consumer(name: string, options?: { signal?: AbortSignal }): LogConsumer;
  /**
   * Appends one event under the log's lock (`${path}.lock`).
   * @param event Any JSON-serialisable value.
   * @returns Its `seq`, once it is flushed as `durability` asks.
   * @throws `ERR_INVALID_ARG_VALUE` for a value JSON cannot hold; OS errors.
   * @example
   * const { seq } = await log.append({ type: 'claimed', agent: 'alice' });
   */
  append(event: unknown): Promise<{
    /** The event's place in the log. */
    seq: number;
  }>;
  /**
   * The events from seq `from` to the current end, in order; then the iteration ends.
   * A missing log has none.
   * @param options `from`: the first seq returned (inclusive). Default 1.
   * @returns An async iterable of events.
   * @throws `ERR_INVALID_ARG_TYPE` / `ERR_OUT_OF_RANGE` for a bad `from`; OS errors.
   * @example
   * for await (const e of log.read({ from: 10 })) console.log(e.seq, e.data);
   */
  read(options?: { from?: number }): AsyncGenerator<LogEvent>;
  /**
   * Like `read`, then waits for new events (woken by file changes, inotify on Linux), forever
   * or until `signal` aborts.
   * @param options `from`: the first seq (inclusive), or `'end'` for only events appended
   * from now on. Default 1. `signal` ends the iteration.
   * @returns An endless async iterable of events.
   * @throws `ABORT_ERR` (`AbortError`) when `signal` aborts; `ERR_INVALID_ARG_TYPE` / `ERR_OUT_OF_RANGE` for bad options; OS errors.
   * @example
   * for await (const e of log.tail({ from: 'end', signal })) handle(e.data);
   */
  tail(options?: { from?: number | 'end'; signal?: AbortSignal }): AsyncGenerator<LogEvent>;
}

/** The `EventLog` class users get (an interface for the same reason as `FileLockConstructor`). */
export interface EventLogConstructor {
  /**
   * A log at `path`; nothing is touched until the first call.
   * @param path The log file (created by the first append).
   * @param options `durability` (default `'data'`).
   * @throws `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` for bad arguments.
   */
  new (path: string | URL, options?: EventLogOptions): EventLogBase;
}

const CHUNK_BYTES = 64 * 1024;
/** The backstop poll of `tail` (fs.watch can miss events on some filesystems). */
const TAIL_POLL_MS = 1000;

/** The most appends, and bytes, one write takes from the queue. */
const MAX_BATCH_APPENDS = 4096;
const MAX_BATCH_BYTES = 4 * 1024 * 1024;

/** An append waiting in this object's queue for the lock. */
interface Queued {
  payload: Buffer;
  resolve: (seq: number) => void;
  reject: (err: unknown) => void;
}

/** Reads whole records from `from.end` on; calls `onEvent` for each; returns where they stop. */
async function scan(handle: FileHandle, from: Position, onEvent?: (e: LogEvent) => void): Promise<Position & { torn: boolean }> {
  let buf = Buffer.alloc(0);
  let base = from.end; // file offset of buf[0]
  let at = 0;
  let seq = from.seq;
  for (;;) {
    const decoded = decodeFrame(buf, at);
    if (typeof decoded === 'object') {
      if (decoded.event.seq !== seq + 1) return { end: base + at, seq, torn: true }; // not the next record: treat as torn
      seq = decoded.event.seq;
      at = decoded.end;
      onEvent?.(decoded.event);
      continue;
    }
    if (decoded === 'bad') return { end: base + at, seq, torn: true };
    // 'short': read more, keeping the unread rest.
    const rest = buf.subarray(at);
    const more = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, rest.length));
    const { bytesRead } = await handle.read(more, 0, more.length, base + at + rest.length);
    if (bytesRead === 0) return { end: base + at, seq, torn: rest.length > 0 };
    base += at;
    at = 0;
    buf = Buffer.concat([rest, more.subarray(0, bytesRead)]);
  }
}

async function openIfExists(path: string): Promise<FileHandle | undefined> {
  try {
    return await open(path, 'r');
  } catch (err) {
    if (isSystemError(err, 'ENOENT')) return undefined;
    throw err;
  }
}

function toFrom(value: unknown, allowEnd: boolean): number | 'end' {
  if (value === undefined) return 1;
  if (allowEnd && value === 'end') return 'end';
  if (typeof value !== 'number') throw invalidArgType('options.from', allowEnd ? "of type number or 'end'" : 'of type number', value);
  if (!Number.isInteger(value) || value < 1) throw outOfRange('options.from', 'an integer >= 1', value);
  return value;
}

export function createEventApi(deps: Deps) {
  class EventLog implements EventLogBase {
    readonly path: string;
    readonly #durability: Durability;
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

    constructor(path: string | URL, options?: EventLogOptions) {
      this.path = resolve(toPath(path));
      this.#durability = toWriteSettings({ durability: toOptions(options).durability ?? 'data' }).durability;
      this.#lock = new deps.FileLock(`${this.path}.lock`);
      this.#shared = new SharedFlush(this.path, this.#durability === 'full' ? 'full' : 'data', deps.FileLock);
    }

    consumer(name: string, options?: { signal?: AbortSignal }): LogConsumer {
      if (typeof name !== 'string') throw invalidArgType('name', 'of type string', name);
      const store = deps.openStore(`${this.path}.consumers`);
      const doc = `${name}.json`;
      const signal = toSignal(toOptions(options).signal);
      const position = async () => (await store.read<{ seq: number }>(doc))?.seq ?? 0;
      const tail = (from: number) => this.tail({ from, signal });
      return {
        name,
        position,
        async ack(seq: number) {
          if (!Number.isInteger(seq) || seq < 1) throw outOfRange('seq', 'an integer >= 1', seq);
          await store.update<{ seq: number }>(doc, (cur) => ({ seq: Math.max(cur?.seq ?? 0, seq) }));
        },
        async *[Symbol.asyncIterator]() {
          yield* tail((await position()) + 1);
        },
      };
    }

    async append(event: unknown): Promise<{ seq: number }> {
      const payload = serializeJson({ time: Date.now(), data: event }, 'event');
      const seq = await new Promise<number>((resolve, reject) => {
        this.#queue.push({ payload, resolve, reject });
        if (!this.#draining) void this.#drain();
      });
      // The first appends of each object (whichever process created the file) also wait
      // for one flush of the directory: until then the log's own name could vanish in a
      // power cut. It started after the file existed, so it covers every later append.
      if (this.#durability !== 'none') await this.#flushDir();
      return { seq };
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
          let written: { firstSeq: number; group: FlushGroup; n: number };
          try {
            written = await this.#writeBatch(batch);
          } catch (err) {
            for (const a of batch) a.reject(err);
            continue;
          } finally {
            this.#wakeWaiters();
          }
          const settle = () => {
            for (const [i, a] of batch.entries()) a.resolve(written.firstSeq + i);
          };
          if (this.#durability === 'none') settle();
          else
            written.group
              .flushed(written.n, () => this.#othersWriting())
              .then(settle, (err: unknown) => {
                for (const a of batch) a.reject(err);
              });
        }
      } finally {
        this.#draining = false;
        this.#wakeWaiters();
        this.#closeWhenIdle();
      }
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
    async #writeBatch(batch: Queued[]): Promise<{ firstSeq: number; group: FlushGroup; n: number }> {
      // Uncontended, the lock is taken without leaving the thread (a flock); else waited for.
      if (!this.#lock.tryAcquire()) await this.#lock.acquire();
      try {
        let file = this.#file;
        let size = file?.sizeIfCurrent(this.path);
        if (!file || size === undefined) {
          file?.retire(); // gone or replaced: this is a new log
          file = await LogFile.open(this.path, () => this.#closeWhenIdle());
          this.#file = file;
          size = file.size(); // of the file opened, even if the path changed since
        }
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

    async *read(options?: { from?: number }): AsyncGenerator<LogEvent> {
      const from = toFrom(toOptions(options).from, false) as number;
      const handle = await openIfExists(this.path);
      if (!handle) return;
      try {
        const events: LogEvent[] = [];
        await scan(handle, { end: 0, seq: 0 }, (e) => {
          if (e.seq >= from) events.push(e);
        });
        yield* events;
      } finally {
        await handle.close();
      }
    }

    async *tail(options?: { from?: number | 'end'; signal?: AbortSignal }): AsyncGenerator<LogEvent> {
      const opts = toOptions(options);
      let from = toFrom(opts.from, true);
      const signal = toSignal(opts.signal);
      throwIfAborted(signal);
      let at: Position = { end: 0, seq: 0 };
      for (;;) {
        throwIfAborted(signal);
        const handle = await openIfExists(this.path);
        const events: LogEvent[] = [];
        if (handle) {
          try {
            at = await scan(handle, at, (e) => events.push(e));
          } finally {
            await handle.close();
          }
        }
        if (from === 'end') from = at.seq + 1;
        const start = from;
        yield* events.filter((e) => e.seq >= start);
        if (events.length === 0) await this.#changed(at.end, signal);
      }
    }

    /**
     * Resolves when the log's file changes, the backstop poll fires, or `signal` aborts.
     * The size is checked once the watch is set, so a change just before it is not missed.
     */
    #changed(seen: number, signal: AbortSignal | undefined): Promise<void> {
      return new Promise((done) => {
        let watcher: ReturnType<typeof watch> | undefined;
        const finish = () => {
          clearTimeout(timer);
          watcher?.close();
          signal?.removeEventListener('abort', finish);
          done();
        };
        const timer = setTimeout(finish, TAIL_POLL_MS);
        signal?.addEventListener('abort', finish, { once: true });
        try {
          watcher = watch(this.path, { persistent: false }, finish);
          watcher.on('error', finish);
        } catch {
          // No file yet (or no watcher here): the poll finds it.
        }
        stat(this.path).then(
          (st) => st.size !== seen && finish(),
          () => {},
        );
      });
    }
  }

  return { EventLog: EventLog as EventLogConstructor };
}
