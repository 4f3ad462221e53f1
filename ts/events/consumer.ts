// A durable cursor over an EventLog: its position is a document of the store beside the
// log, `${path}.consumers/<name>.json`, so a restarted consumer resumes where it acked.
import { outOfRange } from '../errors';
import type { LogEvent } from './frame';

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

/** The part of the store a consumer keeps its cursor in (structural, to avoid a cycle). */
export interface CursorStore {
  read<T>(name: string): Promise<T | undefined>;
  update<T>(name: string, fn: (current: T | undefined) => T | Promise<T>): Promise<T>;
}

/** The cursor `name` in `store`, iterating with `tail(from)`. */
export function openConsumer(store: CursorStore, name: string, tail: (from: number) => AsyncIterable<LogEvent>): LogConsumer {
  const doc = `${name}.json`;
  const position = async () => (await store.read<{ seq: number }>(doc))?.seq ?? 0;
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
