// `concurrent-fs task`: the TaskQueue from the shell. A claim is a kernel-lock lease held
// by the process that claimed, so a claim lives only as long as a process does: `claim
// --hold -- COMMAND` holds it while COMMAND runs and ends it by COMMAND's status (or by
// what COMMAND said with `task done` / `task fail`). As with flock(1), COMMAND inherits the
// claim's locked descriptors (native): if this wrapper dies, COMMAND still holds the task,
// and it goes back to the queue as soon as COMMAND ends too, so there is never a second
// live worker on it. (The fallback's claims are marker files: there the wrapper alone
// holds the task, and it goes back when the wrapper dies.)
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { heldDescriptors } from '../held-descriptors';
import { choiceArg, integerArg, switchFlags, UsageError, valueFlags } from './args';
import { commandAfterDashes, requireCommand, runChild } from './child-command';
import type { Command } from './command';
import { EXIT_TEMPFAIL } from './exit';
import { loadImpl } from './impl';
import { MAX_TIMEOUT_MS } from './lock-args';
import { stateDir } from './state-dir';
import { jsonArg, noPositionals, parseVerbArgs, readStdin, runVerb } from './subcommand';

const USAGE = `Usage: concurrent-fs task add [--dir DIR] [--exclusive KEY]... [--depends-on ID]...
                             [--max-attempts N] [DATA]
       concurrent-fs task claim --hold [--dir DIR] [--worker NAME] [--wait MS] [--retry]
                             [--json] -- COMMAND [ARGS...]
       concurrent-fs task done [--result JSON]        (inside claim --hold's COMMAND)
       concurrent-fs task fail [--message TEXT] [--retry]    (inside COMMAND)
       concurrent-fs task list [--dir DIR] [--state STATE] [--json]

A work queue for many processes: each task is held by at most one live claimer, and a
claimer that dies gives its task back at once (its attempts counted; after
--max-attempts it is failed).

  add    adds a ready task; DATA is JSON (default: stdin); prints its ID
  claim  claims the oldest ready task and runs COMMAND holding it, with CFS_TASK_ID,
         CFS_TASK_DATA (JSON) and CFS_TASK_ATTEMPTS exported; the task is done when
         COMMAND exits 0 and failed otherwise (--retry: back to ready while attempts
         remain). Exits with COMMAND's status; 75 if no task was ready (within --wait).
  done   inside COMMAND: end the claim as done (with --result) whatever COMMAND exits with
  fail   inside COMMAND: end the claim as failed, with --message as the error
  list   every task (or those in STATE: ready, claimed, done, failed), oldest first

Options:
  --dir DIR           the queue's directory (default: $CFS_STATE_DIR/tasks, else
                      <git-common-dir>/concurrent-fs/tasks)
  --exclusive KEY     no two tasks naming KEY are claimed at once (repeatable)
  --depends-on ID     hand the task out only once task ID is done (repeatable)
  --max-attempts N    claims allowed before the task is failed (default 3)
  --worker NAME       recorded in the task as its claimer
  --wait MS           wait up to MS for a ready task (default 0: look once)
  --json              claim: print the task ({ id, data, attempts }) before COMMAND runs;
                      list: print a JSON array
  -h, --help          show this help

Exit status: 2 for bad arguments; 75 when claim found no ready task.
`;

/** Where `task done`/`task fail` leave their word for the claim --hold around them. */
const OUTCOME_ENV = 'CFS_TASK_OUTCOME';

type Outcome = { outcome: 'done'; result?: unknown } | { outcome: 'fail'; message: string; retry: boolean };

function queue(dir: string | undefined) {
  return new (loadImpl().TaskQueue)(stateDir(dir, 'tasks', '--dir'));
}

async function add(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseVerbArgs(argv, {
    dir: { type: 'string' },
    exclusive: { type: 'string', multiple: true },
    'depends-on': { type: 'string', multiple: true },
    'max-attempts': { type: 'string' },
  });
  if (positionals.length > 1) throw new UsageError(`expected one DATA, got ${positionals.length}`);
  const maxAttempts = integerArg(values['max-attempts'], '--max-attempts', { min: 1, max: 1_000_000 }, 3);
  const data = jsonArg(positionals[0] ?? (await readStdin()).trim(), 'DATA');
  const id = await queue(values.dir).add(data, {
    exclusive: values.exclusive ?? [],
    dependsOn: values['depends-on'] ?? [],
    maxAttempts,
  });
  process.stdout.write(`${id}\n`);
  return 0;
}

/** What COMMAND said with `task done`/`task fail`, if it said anything. */
async function readOutcome(path: string): Promise<Outcome | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Outcome;
  } catch {
    return undefined;
  }
}

async function claim(argv: readonly string[]): Promise<number> {
  const { own, command } = commandAfterDashes(argv);
  const { values, positionals } = parseVerbArgs(own, { ...valueFlags('dir', 'worker', 'wait'), ...switchFlags('hold', 'retry', 'json') });
  noPositionals(positionals);
  // Without a process to hold it, a claim would end as this command exits.
  if (!values.hold) throw new UsageError('claim needs --hold -- COMMAND: a claim lasts as long as the process holding it');
  requireCommand(command);
  const wait = integerArg(values.wait, '--wait', { min: 0, max: MAX_TIMEOUT_MS }, 0);
  const task = await queue(values.dir).claim({ wait, ...(values.worker === undefined ? {} : { worker: values.worker }) });
  if (!task) {
    process.stderr.write('concurrent-fs task claim: no task is ready\n');
    return EXIT_TEMPFAIL;
  }
  if (values.json) process.stdout.write(`${JSON.stringify({ id: task.id, data: task.data, attempts: task.attempts })}\n`);
  const scratch = await mkdtemp(join(tmpdir(), 'cfs-task-'));
  try {
    const outcomePath = join(scratch, 'outcome.json');
    const status = await runChild(
      'task claim',
      command,
      {
        CFS_TASK_ID: task.id,
        CFS_TASK_DATA: JSON.stringify(task.data),
        CFS_TASK_ATTEMPTS: String(task.attempts),
        [OUTCOME_ENV]: outcomePath,
      },
      heldDescriptors(task),
    );
    const said = await readOutcome(outcomePath);
    if (said?.outcome === 'done') await task.complete(said.result);
    else if (said?.outcome === 'fail') await task.fail(new Error(said.message), { retry: said.retry });
    else if (status === 0) await task.complete();
    else await task.fail(new Error(`COMMAND exited with status ${status}`), { retry: values.retry ?? false });
    return status;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** `task done` / `task fail`: leave the outcome for the claim --hold that runs us. */
async function say(outcome: Outcome): Promise<number> {
  const path = process.env[OUTCOME_ENV];
  if (!path) throw new UsageError(`only inside 'task claim --hold -- COMMAND' (${OUTCOME_ENV} is not set)`);
  await writeFile(path, JSON.stringify(outcome));
  return 0;
}

function done(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseVerbArgs(argv, { result: { type: 'string' } });
  noPositionals(positionals);
  const result = values.result === undefined ? {} : { result: jsonArg(values.result, '--result') };
  return say({ outcome: 'done', ...result });
}

function fail(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseVerbArgs(argv, { message: { type: 'string' }, retry: { type: 'boolean' } });
  noPositionals(positionals);
  return say({ outcome: 'fail', message: values.message ?? 'failed by task fail', retry: values.retry ?? false });
}

const STATES = ['ready', 'claimed', 'done', 'failed'] as const;

async function list(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseVerbArgs(argv, { dir: { type: 'string' }, state: { type: 'string' }, json: { type: 'boolean' } });
  noPositionals(positionals);
  const state = choiceArg(values.state, '--state', STATES, undefined);
  const tasks = await queue(values.dir).list(state === undefined ? {} : { state });
  if (values.json) process.stdout.write(`${JSON.stringify(tasks)}\n`);
  else
    for (const t of tasks)
      process.stdout.write(`${t.id}  ${t.state.padEnd(7)}  ${t.attempts}/${t.maxAttempts}  ${JSON.stringify(t.data)}\n`);
  return 0;
}

export const task: Command = {
  name: 'task',
  summary: 'a work queue: add tasks, claim one while a command runs, list them',
  usage: USAGE,
  run: (argv) => runVerb({ add, claim, done, fail, list }, argv),
};
