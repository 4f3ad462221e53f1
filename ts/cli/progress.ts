// The demo's live progress, on stderr so that stdout holds only the summary: on a terminal
// a bar redrawn in place; otherwise (a log, a pipe, CI) a plain line once a second, with
// no control characters.

export interface Totals {
  updates: number;
  conflicts: number;
  ids: number;
}

const BAR_WIDTH = 20;

function count(n: number): string {
  return n.toLocaleString('en-US');
}

export class ProgressDisplay {
  readonly #stream: NodeJS.WriteStream;
  readonly #tty: boolean;
  readonly #started = performance.now();
  #timer: NodeJS.Timeout | undefined;

  /** `target`: the totals at the end; `current()`: the totals now. */
  constructor(
    private readonly target: Totals,
    private readonly current: () => Totals,
    stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.#stream = stream;
    this.#tty = stream.isTTY === true;
  }

  start(): void {
    this.#timer = setInterval(() => this.#show(), this.#tty ? 100 : 1000);
  }

  /** A line that must stay visible (a worker's failure), printed above the bar. */
  note(line: string): void {
    if (this.#tty) this.#stream.write('\r\x1b[K');
    this.#stream.write(`${line}\n`);
    if (this.#tty) this.#stream.write(this.#bar());
  }

  stop(): void {
    clearInterval(this.#timer);
    if (this.#tty) this.#stream.write(`\r\x1b[K${this.#bar()}\n`);
  }

  #show(): void {
    if (this.#tty) this.#stream.write(`\r\x1b[K${this.#bar()}`);
    else this.#stream.write(`${this.#seconds()} s: ${this.#counts()}\n`);
  }

  #bar(): string {
    const { updates, ids } = this.current();
    // Updates are nearly all of the time; IDs fill the bar when there are no updates.
    const fraction = this.target.updates > 0 ? updates / this.target.updates : this.target.ids > 0 ? ids / this.target.ids : 1;
    const filled = Math.round(fraction * BAR_WIDTH);
    const bar = '█'.repeat(filled) + '░'.repeat(BAR_WIDTH - filled);
    const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
    // A line longer than the terminal would wrap, and \r would then redraw only its end.
    return `${bar} ${percent}  ${this.#counts()}  ${this.#seconds()} s`.slice(0, (this.#stream.columns || 80) - 1);
  }

  #counts(): string {
    const now = this.current();
    return (
      `${count(now.updates)}/${count(this.target.updates)} updates, ${count(now.conflicts)} conflicts, ` +
      `${count(now.ids)}/${count(this.target.ids)} IDs`
    );
  }

  #seconds(): string {
    return ((performance.now() - this.#started) / 1000).toFixed(1);
  }
}
