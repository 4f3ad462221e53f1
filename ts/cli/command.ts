// What the CLI needs from each command module.

export interface Command {
  /** The word after `concurrent-fs`. */
  readonly name: string;
  /** One line for the CLI's overview. */
  readonly summary: string;
  /** The full `--help` text. */
  readonly usage: string;
  /** Runs with the arguments after the command's name; resolves to the exit status. */
  run(argv: readonly string[]): Promise<number>;
  /** Whether the arguments ask for help, where `-h` is not always ours. Default: before any `--`. */
  wantsHelp?(argv: readonly string[]): boolean;
}
