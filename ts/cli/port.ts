// `concurrent-fs port lease`: run a dev server on a port no other leaseholder sharing the
// directory has, exported as PORT. The lease is a kernel lock that COMMAND inherits
// (native, as with flock(1)): it ends when both this process and COMMAND have ended,
// however they end, so a server that outlives a killed wrapper keeps its port.

import { heldDescriptors } from '../held-descriptors';
import { integerArg, switchFlags, UsageError, valueFlags } from './args';
import { commandAfterDashes, requireCommand, runChild } from './child-command';
import type { Command } from './command';
import { EXIT_TEMPFAIL } from './exit';
import { loadImpl } from './impl';
import { MAX_TIMEOUT_MS } from './lock-args';
import { stateDir } from './state-dir';
import { noPositionals, parseVerbArgs, runVerb } from './subcommand';

const USAGE = `Usage: concurrent-fs port lease [--range FIRST-LAST] [--dir DIR] [--timeout MS] [--json]
                                -- COMMAND [ARGS...]

Leases the lowest TCP port of the range that no live leaseholder sharing DIR has and
that is free to bind now, and runs COMMAND with it exported as PORT, holding the lease
until COMMAND exits. A holder that dies gives its port back at once.

Options:
  --range FIRST-LAST  the ports to lease from, both included (default 3000-3999)
  --dir DIR           the leases' directory (default: $CFS_STATE_DIR/ports, else
                      <git-common-dir>/concurrent-fs/ports)
  --timeout MS        wait up to MS for a port when all are taken (default 0: fail at once)
  --json              print {"port":N} before COMMAND runs
  -h, --help          show this help

Exit status: COMMAND's, or 128+N if signal N killed it; 75 if no port was free in time;
126 if COMMAND could not be run, 127 if it was not found; 2 for bad arguments.
`;

function rangeArg(text: string | undefined): [number, number] | undefined {
  if (text === undefined) return undefined;
  const match = /^([0-9]{1,5})-([0-9]{1,5})$/.exec(text);
  const [first, last] = match ? [Number(match[1]), Number(match[2])] : [0, 0];
  if (!(first >= 1 && last <= 65535 && first <= last)) {
    throw new UsageError(`--range must be FIRST-LAST with 1 <= FIRST <= LAST <= 65535, not '${text}'`);
  }
  return [first, last];
}

async function lease(argv: readonly string[]): Promise<number> {
  const { own, command } = commandAfterDashes(argv);
  const { values, positionals } = parseVerbArgs(own, { ...valueFlags('range', 'dir', 'timeout'), ...switchFlags('json') });
  noPositionals(positionals);
  requireCommand(command);
  const range = rangeArg(values.range);
  const timeout = integerArg(values.timeout, '--timeout', { min: 0, max: MAX_TIMEOUT_MS }, 0);
  const dir = stateDir(values.dir, 'ports', '--dir');
  const cfs = loadImpl();
  let held: Awaited<ReturnType<typeof cfs.leasePort>>;
  try {
    held = await cfs.leasePort({ dir, timeout, ...(range ? { range } : {}) });
  } catch (err) {
    if (!(err instanceof cfs.LockTimeoutError)) throw err;
    process.stderr.write(`concurrent-fs port lease: every port of the range is leased or in use; gave up after ${timeout} ms\n`);
    return EXIT_TEMPFAIL;
  }
  try {
    if (values.json) process.stdout.write(`${JSON.stringify({ port: held.port })}\n`);
    return await runChild('port lease', command, { PORT: String(held.port) }, heldDescriptors(held));
  } finally {
    held.release();
  }
}

export const port: Command = {
  name: 'port',
  summary: 'lease a TCP port while a command runs (exported as PORT)',
  usage: USAGE,
  run: (argv) => runVerb({ lease }, argv),
};
