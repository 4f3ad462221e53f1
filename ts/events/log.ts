// EventLog: an append-only log of JSON events shared by any number of processes, with no
// server. Records are framed and checksummed (./frame.ts). Appends are made under the
// log's lock, `${path}.lock` (./appender.ts): the appender cuts off any torn tail a killed
// appender left and writes its records after the last whole one, so `seq` is contiguous
// (1, 2, 3 ...) and torn bytes never sit between good records. A reader (./reader.ts)
// checks every checksum and stops at the first record that is not whole, so it never
// sees a torn or interleaved record; `tail` then waits for the file to change. A consumer
// (./consumer.ts) is a tail whose position is kept in a store beside the log.
import { resolve } from 'node:path';
import type { Durability } from '../backend';
import { invalidArgType } from '../errors';
import { serializeJson } from '../json-file';
import type { FileLockConstructor } from '../lock';
import { toOptions, toPath, toSignal, toWriteSettings } from '../validate';
import { Appender } from './appender';
import { type CursorStore, type LogConsumer, openConsumer } from './consumer';
import type { LogEvent } from './frame';
import { readEvents, tailEvents, toFrom } from './reader';

export type { LogConsumer } from './consumer';
export type { LogEvent } from './frame';
export type { Position } from './frame-window';

/** Options of `new EventLog(path, options)`. */
export interface EventLogOptions {
  /** How hard each append is flushed before it resolves. Default `'data'`. */
  durability?: Durability;
}

/** What an EventLog is built on (see `createEventApi`). */
export interface EventDeps {
  FileLock: FileLockConstructor;
  openStore: (dir: string) => CursorStore;
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

/**
 * An append-only log of JSON events for any number of processes (the type of an
 * `EventLog`). Readers never see a torn or interleaved record, even when an appender is
 * SIGKILLed mid-write: the torn tail is cut off by the next appender. See
 * `createEventApi` for the class users get.
 */
export abstract class EventLogBase {
  /** The log file, as an absolute path (created by the first append). */
  readonly path: string;
  readonly #appender: Appender;
  readonly #openStore: (dir: string) => CursorStore;

  protected constructor(deps: EventDeps, path: string | URL, options?: EventLogOptions) {
    this.path = resolve(toPath(path));
    const durability = toWriteSettings({ durability: toOptions(options).durability ?? 'data' }).durability;
    this.#appender = new Appender(this.path, durability, deps.FileLock);
    this.#openStore = deps.openStore;
  }

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
  consumer(name: string, options?: { signal?: AbortSignal }): LogConsumer {
    if (typeof name !== 'string') throw invalidArgType('name', 'of type string', name);
    const store = this.#openStore(`${this.path}.consumers`);
    const signal = toSignal(toOptions(options).signal);
    return openConsumer(store, name, (from) => this.tail({ from, signal }));
  }

  /**
   * Appends one event under the log's lock (`${path}.lock`).
   * @param event Any JSON-serialisable value.
   * @returns Its `seq`, once it is flushed as `durability` asks.
   * @throws `ERR_INVALID_ARG_VALUE` for a value JSON cannot hold; OS errors.
   * @example
   * const { seq } = await log.append({ type: 'claimed', agent: 'alice' });
   */
  async append(event: unknown): Promise<{
    /** The event's place in the log. */
    seq: number;
  }> {
    const payload = serializeJson({ time: Date.now(), data: event }, 'event');
    return { seq: await this.#appender.append(payload) };
  }

  /**
   * The events from seq `from` to the current end, in order; then the iteration ends.
   * A missing log has none.
   * @param options `from`: the first seq returned (inclusive). Default 1.
   * @returns An async iterable of events.
   * @throws `ERR_INVALID_ARG_TYPE` / `ERR_OUT_OF_RANGE` for a bad `from`; OS errors.
   * @example
   * for await (const e of log.read({ from: 10 })) console.log(e.seq, e.data);
   */
  async *read(options?: { from?: number }): AsyncGenerator<LogEvent> {
    yield* readEvents(this.path, toFrom(toOptions(options).from, false) as number);
  }

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
  async *tail(options?: { from?: number | 'end'; signal?: AbortSignal }): AsyncGenerator<LogEvent> {
    const opts = toOptions(options);
    const from = toFrom(opts.from, true);
    yield* tailEvents(this.path, from, toSignal(opts.signal));
  }
}

/** Binds EventLogBase to its dependencies: the `EventLog` class users get. */
export function createEventApi(deps: EventDeps) {
  class EventLog extends EventLogBase {
    constructor(path: string | URL, options?: EventLogOptions) {
      super(deps, path, options);
    }
  }
  return { EventLog: EventLog as EventLogConstructor };
}
