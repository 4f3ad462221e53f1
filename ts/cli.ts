#!/usr/bin/env node
// `concurrent-fs`: the command line, for shell scripts and agents. This file only picks
// the command and turns its outcome into an exit status; each command lives in its own
// module under cli/.
import { UsageError, wantsHelp } from './cli/args';
import type { Command } from './cli/command';
import { completion } from './cli/completion';
import { demo } from './cli/demo';
import { demoWorker } from './cli/demo-worker';
import { events } from './cli/events';
import { EXIT_FAILURE, EXIT_USAGE } from './cli/exit';
import { gitCommand } from './cli/git';
import { id } from './cli/id';
import { lock } from './cli/lock';
import { port } from './cli/port';
import { status } from './cli/status';
import { task } from './cli/task';
import { write } from './cli/write';
import { ws } from './cli/ws';
import { VERSION } from './native/targets';

const COMMANDS: readonly Command[] = [lock, status, write, id, demo, task, events, port, ws, gitCommand, completion(() => COMMANDS)];
/** Internal commands: runnable, but not shown in the overview. */
const HIDDEN: readonly Command[] = [demoWorker];

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return `Usage: concurrent-fs COMMAND [OPTIONS]

Safe file access for many processes: locks, atomic writes and unique IDs.

Commands:
${lines.join('\n')}

Run 'concurrent-fs COMMAND --help' for a command's options.
'concurrent-fs --version' prints the version.
`;
}

function version(): string {
  return VERSION;
}

/** Bad arguments: what was wrong, then how to call it, on stderr. */
function usageError(message: string, usage: string): number {
  process.stderr.write(`concurrent-fs: ${message}\n\n${usage}`);
  return EXIT_USAGE;
}

async function runCommand(command: Command, argv: readonly string[]): Promise<number> {
  if (command.wantsHelp?.(argv) ?? wantsHelp(argv)) {
    process.stdout.write(command.usage);
    return 0;
  }
  try {
    return await command.run(argv);
  } catch (err) {
    if (err instanceof UsageError) return usageError(`${command.name}: ${err.message}`, command.usage);
    process.stderr.write(`concurrent-fs ${command.name}: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT_FAILURE;
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(overview());
    return 0;
  }
  if (name === undefined) return usageError('missing COMMAND', overview());
  const command = [...COMMANDS, ...HIDDEN].find((c) => c.name === name);
  if (!command) return usageError(`unknown command '${name}'`, overview());
  return runCommand(command, rest);
}

// exitCode rather than exit(): output still queued for a pipe gets written first.
main(process.argv.slice(2)).then((status) => {
  process.exitCode = status;
});
