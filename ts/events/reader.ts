// Reading an EventLog: `read` (the events to the current end) and `tail` (then waiting
// for more). A reader checks every record's checksum and stops at the first one that is
// not whole, so it never sees a torn or interleaved record; it takes no lock. `tail`
// waits at the end for the file to change (fs.watch: inotify on Linux) and polls slowly
// as a backstop.
import { watch } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';
import { invalidArgType, isSystemError, outOfRange, throwIfAborted } from '../errors';
import { decodeFrame, type LogEvent } from './frame';
import { FrameWindow, type Position } from './frame-window';

/** The backstop poll of `tail` (fs.watch can miss events on some filesystems). */
const TAIL_POLL_MS = 1000;

/** Reads whole records from `from.end` on; calls `onEvent` for each; returns where they stop. */
async function scan(handle: FileHandle, from: Position, onEvent?: (e: LogEvent) => void): Promise<Position & { torn: boolean }> {
  const window = new FrameWindow(from);
  for (;;) {
    const step = window.next(decodeFrame);
    if (typeof step === 'object') {
      onEvent?.(step.event);
      continue;
    }
    if (step === 'stop') return { ...window.position, torn: true };
    const more = Buffer.allocUnsafe(window.chunkBytes());
    const { bytesRead } = await handle.read(more, 0, more.length, window.readAt);
    if (bytesRead === 0) return { ...window.position, torn: window.unread > 0 };
    window.push(more.subarray(0, bytesRead));
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

/** The `from` option of `read` (a seq) and `tail` (a seq or `'end'`). */
export function toFrom(value: unknown, allowEnd: boolean): number | 'end' {
  if (value === undefined) return 1;
  if (allowEnd && value === 'end') return 'end';
  if (typeof value !== 'number') throw invalidArgType('options.from', allowEnd ? "of type number or 'end'" : 'of type number', value);
  if (!Number.isInteger(value) || value < 1) throw outOfRange('options.from', 'an integer >= 1', value);
  return value;
}

/** The events of the log at `path` from seq `from` to its current end. */
export async function* readEvents(path: string, from: number): AsyncGenerator<LogEvent> {
  const handle = await openIfExists(path);
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

/** The events of the log at `path` from seq `from` (or its end) on, waiting for more until `signal` aborts. */
export async function* tailEvents(path: string, from: number | 'end', signal: AbortSignal | undefined): AsyncGenerator<LogEvent> {
  throwIfAborted(signal);
  let at: Position = { end: 0, seq: 0 };
  for (;;) {
    throwIfAborted(signal);
    const handle = await openIfExists(path);
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
    if (events.length === 0) await changed(path, at.end, signal);
  }
}

/**
 * Resolves when the log's file changes, the backstop poll fires, or `signal` aborts.
 * The size is checked once the watch is set, so a change just before it is not missed.
 */
function changed(path: string, seen: number, signal: AbortSignal | undefined): Promise<void> {
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
      watcher = watch(path, { persistent: false }, finish);
      watcher.on('error', finish);
    } catch {
      // No file yet (or no watcher here): the poll finds it.
    }
    stat(path).then(
      (st) => st.size !== seen && finish(),
      () => {},
    );
  });
}
