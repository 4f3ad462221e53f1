// `concurrent-fs write PATH`: stdin to PATH atomically. The bytes stream through
// openAtomic chunk by chunk, each write awaited, so memory stays flat and a fast producer
// is paced by the disk; the file is committed at end of input. A stdin error or a
// termination signal aborts instead: PATH keeps its old content, the temp file goes.
import { lstat } from 'node:fs/promises';
import type { Durability } from '../index';
import { choiceArg, onePositional, parseCommandArgs, UsageError } from './args';
import type { Command } from './command';
import { EXIT_FAILURE, onTermination, signalStatus } from './exit';
import { loadImpl } from './impl';

const USAGE = `Usage: concurrent-fs write [--durability none|data|full] [--no-clobber] [--mode OCTAL] PATH

Writes stdin to PATH atomically: readers see the old file or the whole new one, never a
part; after a crash PATH holds the old or the new content. Nothing changes until stdin
ends; on a stdin error or SIGINT/SIGTERM/SIGHUP, PATH is left as it was.

Options:
  --durability D   none: no flush (safe against crashes of processes, not of power);
                   data: flush the data; full: flush everything (default)
  --no-clobber     fail if PATH already exists
  --mode OCTAL     permission bits of the new file, e.g. 644 (default: keep the old
                   file's, or 666 less the umask)
  -h, --help       show this help

Exit status: 0 written; 1 on failure (PATH unchanged); 128+N after signal N; 2 for bad
arguments.
`;

const OPTIONS = {
  durability: { type: 'string' },
  'no-clobber': { type: 'boolean' },
  mode: { type: 'string' },
} as const;

const DURABILITIES: readonly Durability[] = ['none', 'data', 'full'];

function modeArg(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[0-7]{1,4}$/.test(text)) throw new UsageError(`--mode must be octal permission bits such as 644, not '${text}'`);
  return Number.parseInt(text, 8);
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

function refuseClobber(path: string): number {
  process.stderr.write(`concurrent-fs write: '${path}' already exists (EEXIST); --no-clobber left it as it was\n`);
  return EXIT_FAILURE;
}

async function run(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, OPTIONS);
  const path = onePositional(positionals, 'PATH');
  const options = {
    durability: choiceArg(values.durability, '--durability', DURABILITIES, 'full'),
    noClobber: values['no-clobber'] ?? false,
    mode: modeArg(values.mode),
  };
  // A quick refusal before reading any input; the commit decides atomically all the same.
  if (options.noClobber && (await exists(path))) return refuseClobber(path);
  try {
    return await writeStdin(path, options);
  } catch (err) {
    if (options.noClobber && (err as NodeJS.ErrnoException).code === 'EEXIST') return refuseClobber(path);
    throw err;
  }
}

async function writeStdin(path: string, options: { durability: Durability; noClobber: boolean; mode: number | undefined }) {
  // Handlers first: a signal while the temp file is being created must not kill us
  // before we can remove it. Ending stdin is how the signal stops the copy loop.
  let interrupted: NodeJS.Signals | undefined;
  const restore = onTermination((signal) => {
    interrupted = signal;
    process.stdin.destroy();
  });
  try {
    const file = await loadImpl().openAtomic(path, options);
    try {
      try {
        for await (const chunk of process.stdin) await file.write(chunk as Buffer);
      } catch (err) {
        if (interrupted === undefined) throw err; // else: stdin ended by our own destroy()
      }
      if (interrupted !== undefined) {
        await file.abort();
        return signalStatus(interrupted);
      }
      await file.commit();
      return 0;
    } catch (err) {
      await file.abort();
      throw err;
    }
  } finally {
    restore();
  }
}

export const write: Command = { name: 'write', summary: 'write stdin to a file atomically', usage: USAGE, run };
