// Reading a log on from a known record end, a chunk at a time: whole records are taken
// off the front of what was read, and a record cut by the end of a chunk waits for the
// next chunk. Appenders (finding the end, ./log-file.ts) and readers (./reader.ts) walk
// the log this way; they differ only in how they read and what they do with a record.

/** Where a scan stopped: the end of the last whole record, and its seq (0: none). */
export interface Position {
  end: number;
  seq: number;
}

const CHUNK_BYTES = 64 * 1024;

export class FrameWindow {
  #bytes: Buffer = Buffer.alloc(0);
  /** The file offset of #bytes[0]. */
  #base: number;
  /** Where in #bytes the next record starts. */
  #at = 0;
  #seq: number;

  constructor(from: Position) {
    this.#base = from.end;
    this.#seq = from.seq;
  }

  /**
   * The next record, as `check` (checkFrame or decodeFrame) finds it, taken when it is
   * whole and next in seq; 'short' when more bytes must be read to tell; 'stop' at a
   * record that is torn or out of order (treated as torn).
   */
  next<R extends { seq: number; end: number }>(check: (bytes: Buffer, at: number) => R | 'short' | 'bad'): R | 'short' | 'stop' {
    const checked = check(this.#bytes, this.#at);
    if (checked === 'short') return 'short';
    if (checked === 'bad' || checked.seq !== this.#seq + 1) return 'stop';
    this.#seq = checked.seq;
    this.#at = checked.end;
    return checked;
  }

  /** The end of the last whole record taken, and its seq. */
  get position(): Position {
    return { end: this.#base + this.#at, seq: this.#seq };
  }

  /** The file offset the next chunk is read from. */
  get readAt(): number {
    return this.#base + this.#bytes.length;
  }

  /** Bytes read but not yet taken as a record. */
  get unread(): number {
    return this.#bytes.length - this.#at;
  }

  /** How much to read next: a chunk, or more when a record larger than one is cut. */
  chunkBytes(): number {
    return Math.max(CHUNK_BYTES, this.unread);
  }

  /** Adds a chunk read at `readAt`, keeping the unread rest. */
  push(chunk: Buffer): void {
    const rest = this.#bytes.subarray(this.#at);
    this.#base += this.#at;
    this.#at = 0;
    this.#bytes = rest.length ? Buffer.concat([rest, chunk]) : chunk;
  }
}
