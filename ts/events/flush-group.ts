// Group commit: the appends of one EventLog object share flushes. Each write is numbered
// as it finishes; a flush covers every write of the file finished before it started
// (fdatasync flushes the file, whichever descriptor wrote). A written append waits for a
// flush that started after its write. It starts one itself only when none is running and
// no other append of the object is still on its way to write (or MAX_BATCH writes are
// waiting already): appends that come together are written one by one under the lock,
// then flushed once.

/** The most writes one flush waits to gather. */
const MAX_BATCH = 256;

export class FlushGroup {
  /** Writes finished so far; the nth write is number n. */
  #written = 0;
  /** Every write up to this number is flushed. */
  #flushed = 0;
  #running: { covers: number; done: Promise<void> } | undefined;
  /** How to flush: the latest writer's descriptor, open until that write is flushed. */
  #flush: (() => Promise<void>) | undefined;

  /** `file` is the device and inode written to: a replaced log file needs a group of its own. */
  constructor(readonly file: string) {}

  /** Call when a write has finished, with a flush of its descriptor; returns its number. */
  wrote(flush: () => Promise<void>): number {
    this.#flush = flush;
    this.#written += 1;
    return this.#written;
  }

  /**
   * Resolves once write `n` is flushed. `othersWriting` is undefined when no other append
   * is on its way to write, else a promise of the next change. A failed flush rejects
   * every append it covered: none of them is known to be durable.
   */
  async flushed(n: number, othersWriting: () => Promise<void> | undefined): Promise<void> {
    while (this.#flushed < n) {
      const running = this.#running;
      if (running && running.covers >= n) return running.done;
      if (running) {
        await running.done.catch(() => undefined); // it did not cover us: the next one will
        continue;
      }
      const gathering = this.#written - this.#flushed < MAX_BATCH ? othersWriting() : undefined;
      if (gathering) await gathering;
      else this.#start(this.#flush!);
    }
  }

  #start(flush: () => Promise<void>): void {
    const covers = this.#written;
    const done = flush().then(
      () => {
        this.#flushed = Math.max(this.#flushed, covers);
        this.#running = undefined;
      },
      (err: unknown) => {
        this.#running = undefined;
        throw err;
      },
    );
    this.#running = { covers, done };
  }
}
