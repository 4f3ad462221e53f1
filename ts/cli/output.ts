// Streaming lines to stdout: wait for 'drain' when the pipe is full, so memory stays flat
// however much is printed; and treat a reader that went away (EPIPE, as in `| head`) as
// the normal end of output, not as an error.

export class Output {
  #gone = false;
  #error: Error | undefined;

  constructor(private readonly stream: NodeJS.WritableStream = process.stdout) {
    // The error may arrive after write() returned; without a listener it would crash us.
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') this.#gone = true;
      else this.#error = err;
    });
  }

  /** Writes `text`; false once the reader has gone, so the caller can stop producing. */
  async write(text: string): Promise<boolean> {
    if (!this.#gone && !this.stream.write(text)) await this.#drained();
    if (this.#error) throw this.#error;
    return !this.#gone;
  }

  /** Until the pipe takes more, or the stream fails or closes. */
  #drained(): Promise<void> {
    return new Promise((resolve) => {
      const events = ['drain', 'error', 'close'] as const;
      const wake = () => {
        for (const event of events) this.stream.off(event, wake);
        resolve();
      };
      for (const event of events) this.stream.on(event, wake);
    });
  }
}
