// EventLog: an append-only log of JSON events shared by any number of processes, with no
// server. Records are framed and checksummed (./frame.ts). Appends are made under the
// log's lock, `${path}.lock`: the appender finds the end of the last whole record (from
// where it last looked, so an append reads only what others added since), cuts off any
// torn tail a killed appender left there, and writes its record there with one write at
// that offset. So `seq` is contiguous (1, 2, 3 ...), torn bytes never sit between good
// records, and a reader, which checks every checksum and stops at the first record that
// is not whole, never sees a torn or interleaved record. `tail` waits at the end for the
// file to change (fs.watch: inotify on Linux) and polls slowly as a backstop. The flush
// an append waits for is made after the lock is let go, and shared by the appends of this
// object that wrote meanwhile (group commit, ./flush-group.ts) and with other processes'
// appends (./shared-flush.ts).
import { watch } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Durability } from '../backend';
import { invalidArgType, isSystemError, outOfRange, throwIfAborted } from '../errors';
import { serializeJson } from '../json-file';
import type { FileLockConstructor, LockOptions } from '../lock';
import { syncDir } from '../sync-dir';
import { toOptions, toPath, toSignal, toWriteSettings } from '../validate';
import { FlushGroup } from './flush-group';
import { decodeFrame, encodeFrame, type LogEvent } from './frame';
import { SharedFlush } from './shared-flush';

export type { LogEvent } from './frame';

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
  withLock: <T>(path: string, fn: () => T | Promise<T>, options?: LockOptions) => Promise<T>;
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

/** Where a scan stopped: the end of the last whole record, and its seq (0: none). */
export interface Position {
  end: number;
  seq: number;
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
    /** Where this process last saw the end of the log (under the lock), and on which file. */
    #known: (Position & { ino: number }) | undefined;
    /** The appends of this object that share flushes (group commit). */
    #group: FlushGroup | undefined;
    /** Flushes shared with other processes' appends (see ./shared-flush.ts). */
    readonly #shared: SharedFlush;
    /** Appends of this object that have not written yet, and who waits for that to change. */
    #writing = 0;
    #wake: { promise: Promise<void>; resolve: () => void } | undefined;
    /** This object's flush of the log's directory (so the log's own name is durable), shared. */
    #dirFlush: Promise<void> | undefined;

    constructor(path: string | URL, options?: EventLogOptions) {
      this.path = resolve(toPath(path));
      this.#durability = toWriteSettings({ durability: toOptions(options).durability ?? 'data' }).durability;
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

    /**
     * The write is made under the lock; the flush after it, outside, shared with the
     * other appends of this object that wrote meanwhile (group commit, ./flush-group.ts).
     */
    async append(event: unknown): Promise<{ seq: number }> {
      const payload = serializeJson({ time: Date.now(), data: event }, 'event');
      const writing = this.#startWriting();
      const { seq, handle, group, n } = await deps
        .withLock(`${this.path}.lock`, async () => {
          const handle = await open(this.path, 'a+');
          try {
            const end = await this.#findEnd(handle);
            const seq = end.seq + 1;
            const frame = encodeFrame(seq, payload);
            // 'a+' appends on every write, so the file must end exactly at `end` first.
            if (end.torn) await handle.truncate(end.end);
            await handle.write(frame, 0, frame.length);
            const written = end.end + frame.length;
            this.#known = { ...this.#known!, end: written, seq };
            const group = this.#groupFor(end.file);
            const ino = this.#known.ino;
            const n = group.wrote(() => this.#shared.flush(handle, ino, written));
            return { seq, handle, group, n };
          } catch (err) {
            await handle.close();
            throw err;
          } finally {
            writing.done();
          }
        })
        .catch((err: unknown) => {
          writing.done(); // the lock was not had: this append will not write
          throw err;
        });
      try {
        // Our descriptor stays open until our write is flushed: any flush may use it.
        if (this.#durability !== 'none') await group.flushed(n, () => this.#othersWriting());
      } finally {
        await handle.close();
      }
      // The first appends of each object (whichever process created the file) also wait
      // for one flush of the directory: until then the log's own name could vanish in a
      // power cut. It started after the file existed, so it covers every later append.
      if (this.#durability !== 'none') await this.#flushDir();
      return { seq };
    }

    #flushDir(): Promise<void> {
      this.#dirFlush ??= syncDir(dirname(this.path)).catch((err: unknown) => {
        this.#dirFlush = undefined; // the next append tries again
        throw err;
      });
      return this.#dirFlush;
    }

    /** Counts an append on its way to write; `done()` (once is enough) when it wrote or gave up. */
    #startWriting(): { done: () => void } {
      this.#writing += 1;
      let ended = false;
      return {
        done: () => {
          if (ended) return;
          ended = true;
          this.#writing -= 1;
          const wake = this.#wake;
          this.#wake = undefined;
          wake?.resolve();
        },
      };
    }

    /** Undefined when no append of this object is on its way to write, else a promise of the next that is no longer. */
    #othersWriting(): Promise<void> | undefined {
      if (this.#writing === 0) return undefined;
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

    /** Under the lock: the end of the last whole record, read on from where we last were. */
    async #findEnd(handle: FileHandle): Promise<Position & { torn: boolean; file: string }> {
      const { dev, ino, size } = await handle.stat();
      const known = this.#known?.ino === ino && this.#known.end <= size ? this.#known : { end: 0, seq: 0 };
      const found = await scan(handle, known);
      const torn = found.torn || found.end < size;
      this.#known = { end: found.end, seq: found.seq, ino };
      return { ...found, torn, file: `${dev}:${ino}` };
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
