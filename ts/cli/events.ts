// `concurrent-fs events`: the EventLog from the shell. Events print as JSON lines,
// `{"seq":N,"time":MS,"data":...}`, so `tail --follow` can feed any line reader.
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { choiceArg, integerArg, UsageError } from './args';
import type { Command } from './command';
import { loadImpl } from './impl';
import { Output } from './output';
import { stateDir } from './state-dir';
import { jsonArg, noPositionals, parseVerbArgs, runVerb } from './subcommand';

const USAGE = `Usage: concurrent-fs events append [--log PATH] [--durability D] [EVENT]
       concurrent-fs events read [--log PATH] [--from SEQ]
       concurrent-fs events tail [--log PATH] [-n N | --from SEQ] [-f, --follow]

An append-only event log for many processes: each event gets the next seq (1, 2, 3 ...
with no gaps), and a reader never sees a torn or interleaved record.

  append  appends EVENT (JSON), or each line of stdin as one event; prints each seq
  read    prints the events from SEQ (default 1), one JSON line each:
          {"seq":N,"time":MS,"data":EVENT}
  tail    prints the last N events (default 10), or those from SEQ; with --follow,
          then waits for new ones and prints each as it is appended (until killed)

Options:
  --log PATH        the log file (default: $CFS_STATE_DIR/events.log, else
                    <git-common-dir>/concurrent-fs/events.log)
  --durability D    none, data (default) or full: how hard an append is flushed before
                    its seq is printed
  --from SEQ        the first seq to print
  -n, --lines N     how many of the last events tail prints (default 10)
  -f, --follow      keep printing new events
  -h, --help        show this help

Exit status: 0; 2 for bad arguments. A reader that stops early (| head) ends the output quietly.
`;

const DURABILITIES = ['none', 'data', 'full'] as const;
const MAX_SEQ = Number.MAX_SAFE_INTEGER;

async function openLog(given: string | undefined, durability?: (typeof DURABILITIES)[number]) {
  const path = stateDir(given, 'events.log', '--log');
  await mkdir(dirname(path), { recursive: true });
  return new (loadImpl().EventLog)(path, durability === undefined ? {} : { durability });
}

async function append(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseVerbArgs(argv, { log: { type: 'string' }, durability: { type: 'string' } });
  if (positionals.length > 1) throw new UsageError(`expected one EVENT, got ${positionals.length}`);
  const durability = choiceArg(values.durability, '--durability', DURABILITIES, undefined);
  const given = positionals[0];
  const events = given === undefined ? undefined : [jsonArg(given, 'EVENT')];
  const log = await openLog(values.log, durability);
  const out = new Output();
  const appendOne = async (event: unknown) => out.write(`${(await log.append(event)).seq}\n`);
  if (events) for (const event of events) await appendOne(event);
  else {
    // One event a line, each appended before the next is read: a seq printed is durable.
    for await (const line of createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY })) {
      if (line.trim() !== '') await appendOne(jsonArg(line, 'each line of stdin'));
    }
  }
  return 0;
}

async function read(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseVerbArgs(argv, { log: { type: 'string' }, from: { type: 'string' } });
  noPositionals(positionals);
  const from = integerArg(values.from, '--from', { min: 1, max: MAX_SEQ }, 1);
  const log = await openLog(values.log);
  const out = new Output();
  for await (const event of log.read({ from })) if (!(await out.write(`${JSON.stringify(event)}\n`))) break;
  return 0;
}

/** The seq of the Nth event from the end (n = 0: the one after the end). */
async function lastN(log: InstanceType<ReturnType<typeof loadImpl>['EventLog']>, n: number): Promise<number> {
  let last = 0;
  for await (const event of log.read()) last = event.seq;
  return Math.max(1, last - n + 1);
}

async function tail(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseVerbArgs(argv, {
    log: { type: 'string' },
    from: { type: 'string' },
    lines: { type: 'string', short: 'n' },
    follow: { type: 'boolean', short: 'f' },
  });
  noPositionals(positionals);
  if (values.from !== undefined && values.lines !== undefined) throw new UsageError('choose one of --from and -n/--lines');
  const log = await openLog(values.log);
  const from =
    integerArg(values.from, '--from', { min: 1, max: MAX_SEQ }, undefined) ??
    (await lastN(log, integerArg(values.lines, '-n/--lines', { min: 0, max: MAX_SEQ }, 10)));
  const out = new Output();
  const events = values.follow ? log.tail({ from }) : log.read({ from });
  for await (const event of events) if (!(await out.write(`${JSON.stringify(event)}\n`))) break;
  return 0;
}

export const events: Command = {
  name: 'events',
  summary: 'an append-only event log: append, read, tail --follow',
  usage: USAGE,
  run: (argv) => runVerb({ append, read, tail }, argv),
};
