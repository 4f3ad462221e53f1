// `concurrent-fs id`: print unique, increasing IDs, one a line. Large counts are minted
// in batches and streamed out as the pipe accepts them.
import { choiceArg, integerArg, parseCommandArgs, switchFlags, UsageError, valueFlags } from './args';
import type { Command } from './command';
import { EXIT_TEMPFAIL } from './exit';
import type { Cfs } from './impl';
import { loadImpl } from './impl';
import { Output } from './output';

const USAGE = `Usage: concurrent-fs id [--count N] [--format snowflake|uuidv7] [--worker N | --lease DIR] [--json]

Prints N IDs (default 1), one a line, each greater than the one before.

Options:
  --count N         how many (default 1)
  --format F        snowflake: 63-bit integers, twitter layout (default);
                    uuidv7: RFC 9562 UUIDs, time-ordered
  --worker N        the snowflake worker ID, 0 to 1023 (default: derived from the host
                    and process, which may collide with another process's)
  --lease DIR       lease a worker ID no live process sharing DIR holds, for as long as
                    this command runs
  --json            one JSON object a line: {"id":"...","format":"snowflake"|"uuidv7"}
                    (the id a string, as a snowflake exceeds JSON's safe integers)
  -h, --help        show this help

Exit status: 0 printed; 75 if every worker ID in DIR is taken; 2 for bad arguments.
A reader that stops early (| head) ends the output quietly.
`;

const OPTIONS = { ...valueFlags('count', 'format', 'worker', 'lease'), ...switchFlags('json') };

const FORMATS = ['snowflake', 'uuidv7'] as const;

/** IDs per batch: large enough to amortise each call, small enough to stream smoothly. */
const BATCH = 8192;
/** The twitter layout's 10 worker bits. */
const MAX_WORKER = 1023;

type Mint = (count: number) => string;
/** One output line for one ID. */
type Line = (id: string | bigint) => string;

function lineFormat(format: (typeof FORMATS)[number], json: boolean): Line {
  return json ? (id) => `${JSON.stringify({ id: `${id}`, format })}\n` : (id) => `${id}\n`;
}

function uuidMinter(cfs: Cfs, line: Line): Mint {
  return (count) => cfs.uuidv7Batch(count).map(line).join('');
}

function snowflakeMinter(snowflake: InstanceType<Cfs['Snowflake']>, line: Line): Mint {
  return (count) => {
    let text = '';
    for (const id of snowflake.nextBatch(count)) text += line(id);
    return text;
  };
}

async function printIds(count: number, mint: Mint): Promise<void> {
  const out = new Output();
  for (let left = count; left > 0; left -= BATCH) {
    if (!(await out.write(mint(Math.min(BATCH, left))))) return;
  }
}

async function run(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, OPTIONS);
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const count = integerArg(values.count, '--count', { min: 0, max: Number.MAX_SAFE_INTEGER }, 1);
  const format = choiceArg(values.format, '--format', FORMATS, 'snowflake');
  if (values.worker !== undefined && values.lease !== undefined) throw new UsageError('give --worker or --lease, not both');
  if (format === 'uuidv7' && (values.worker ?? values.lease) !== undefined) {
    throw new UsageError('--worker and --lease apply to --format snowflake only');
  }
  const worker = integerArg(values.worker, '--worker', { min: 0, max: MAX_WORKER }, undefined);
  const line = lineFormat(format, values.json === true);
  const cfs = loadImpl();
  if (format === 'uuidv7') {
    await printIds(count, uuidMinter(cfs, line));
    return 0;
  }
  if (values.lease === undefined) {
    const workerId = worker ?? cfs.machineWorkerId();
    await printIds(count, snowflakeMinter(new cfs.Snowflake({ workerId }), line));
    return 0;
  }
  return printLeased(cfs, values.lease, count, line);
}

async function printLeased(cfs: Cfs, dir: string, count: number, line: Line): Promise<number> {
  let lease: Awaited<ReturnType<Cfs['leaseWorkerId']>>;
  try {
    lease = await cfs.leaseWorkerId(dir);
  } catch (err) {
    if (!(err instanceof cfs.LockTimeoutError)) throw err;
    process.stderr.write(`concurrent-fs id: every worker ID in '${dir}' is held by a live process\n`);
    return EXIT_TEMPFAIL;
  }
  try {
    await printIds(count, snowflakeMinter(new cfs.Snowflake({ workerId: lease.id }), line));
    return 0;
  } finally {
    lease.release();
  }
}

export const id: Command = { name: 'id', summary: 'print unique, increasing IDs (snowflake or UUIDv7)', usage: USAGE, run };
