// `concurrent-fs task`, `events` and `port`, run as real processes against dist/cli.js,
// on both implementations (CONCURRENT_FS_IMPL picks the CLI's).
import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, startCli } from './helpers/cli';
import { IMPLEMENTATIONS } from './helpers/impls';
import { tempDir } from './helpers/tmp';

interface ListedTask {
  id: string;
  state: string;
  attempts: number;
  result?: unknown;
  error?: { message: string };
}

/** A node one-liner as a COMMAND. */
const nodeCmd = (script: string) => [process.execPath, '-e', script];

for (const impl of IMPLEMENTATIONS) {
  const env = { CONCURRENT_FS_IMPL: impl === 'js' ? 'js' : undefined };
  const cli = (args: string[], input?: string) => runCli(args, { env, ...(input === undefined ? {} : { input }) });

  async function addTask(dir: string, data: string, ...flags: string[]): Promise<string> {
    const added = await cli(['task', 'add', '--dir', dir, ...flags, data]);
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    return added.stdout.trim();
  }

  async function listTasks(dir: string): Promise<ListedTask[]> {
    const listed = await cli(['task', 'list', '--dir', dir, '--json']);
    expect(listed.code).toBe(0);
    return JSON.parse(listed.stdout) as ListedTask[];
  }

  describe(`concurrent-fs task (${impl})`, () => {
    it('claim --hold runs COMMAND with the task exported; exit 0 completes it, exit 3 fails it', async () => {
      const dir = tempDir();
      const good = await addTask(dir, '{"n":1}');
      const bad = await addTask(dir, '{"n":2}');
      const print = nodeCmd('console.log(process.env.CFS_TASK_ID, process.env.CFS_TASK_DATA, process.env.CFS_TASK_ATTEMPTS)');
      const first = await cli(['task', 'claim', '--hold', '--dir', dir, '--', ...print]);
      expect(first).toMatchObject({ code: 0, stdout: `${good} {"n":1} 1\n`, stderr: '' });
      const second = await cli(['task', 'claim', '--hold', '--dir', dir, '--', ...nodeCmd('process.exit(3)')]);
      expect(second.code).toBe(3);
      const tasks = await listTasks(dir);
      expect(tasks.map((t) => [t.id, t.state])).toEqual([
        [good, 'done'],
        [bad, 'failed'],
      ]);
      expect(tasks[1]!.error?.message).toBe('COMMAND exited with status 3');
      expect((await cli(['task', 'claim', '--hold', '--dir', dir, '--', 'true'])).code).toBe(75);
    });

    it('task done --result inside COMMAND completes the task with that result', async () => {
      const dir = tempDir();
      const id = await addTask(dir, '"x"');
      const script = `require('node:child_process').execFileSync(process.execPath, [${JSON.stringify(join(__dirname, '..', 'dist', 'cli.js'))}, 'task', 'done', '--result', '{"ok":true}']); process.exit(1)`;
      const run = await cli(['task', 'claim', '--hold', '--dir', dir, '--', ...nodeCmd(script)]);
      expect(run.code).toBe(1); // COMMAND's status, but the task is what COMMAND said
      expect(await listTasks(dir)).toMatchObject([{ id, state: 'done', result: { ok: true } }]);
    });

    it('a SIGKILLed claim --hold wrapper: COMMAND keeps the task while it lives (native), then it goes back', async () => {
      const dir = tempDir();
      const id = await addTask(dir, '{"n":1}');
      // COMMAND runs until the test closes its end of a FIFO (not the wrapper's stdin,
      // which Node closes when the wrapper dies).
      const fifo = join(dir, 'until');
      execFileSync('mkfifo', [fifo]);
      const writer = openSync(fifo, constants.O_RDWR);
      const untilClosed = nodeCmd(
        "const s = require('fs').createReadStream(process.env.FIFO); s.on('open', () => console.log('started')); s.on('end', () => process.exit(0)); s.resume()",
      );
      const holder = startCli(['task', 'claim', '--hold', '--dir', dir, '--', ...untilClosed], { env: { ...env, FIFO: fifo } });
      await holder.output(/started\n/);
      // While the wrapper lives, the task is claimed and nobody else gets it.
      expect(await listTasks(dir)).toMatchObject([{ id, state: 'claimed', attempts: 1 }]);
      expect((await cli(['task', 'claim', '--hold', '--dir', dir, '--', 'true'])).code).toBe(75);
      // The wrapper's own exit ('close' waits for COMMAND, which shares its stdout).
      const died = new Promise((resolve) => holder.child.once('exit', resolve));
      holder.child.kill('SIGKILL');
      await died;
      if (impl === 'native') {
        // COMMAND inherited the claim's lock: still one live worker on the task, and it is COMMAND.
        expect(await listTasks(dir)).toMatchObject([{ id, state: 'claimed', attempts: 1 }]);
        expect((await cli(['task', 'claim', '--hold', '--dir', dir, '--', 'true'])).code).toBe(75);
      } else {
        // The fallback's claim is a marker file, held by the wrapper alone.
        expect(await listTasks(dir)).toMatchObject([{ id, state: 'ready', attempts: 1 }]);
      }
      closeSync(writer);
      // Once COMMAND has ended too, the next claim gets the task (waiting for that moment).
      const again = await cli(['task', 'claim', '--hold', '--json', '--wait', '30000', '--dir', dir, '--', 'true']);
      expect(again.code).toBe(0);
      expect(JSON.parse(again.stdout)).toEqual({ id, data: { n: 1 }, attempts: 2 });
      expect(await listTasks(dir)).toMatchObject([{ id, state: 'done', attempts: 2 }]);
    });
  });

  describe(`concurrent-fs events (${impl})`, () => {
    it('tail --follow streams an event appended by another process, one JSON line', async () => {
      const log = join(tempDir(), 'events.log');
      const tail = startCli(['events', 'tail', '--follow', '--from', '1', '--log', log], { env });
      const appended = await cli(['events', 'append', '--log', log, '{"hello":"world"}']);
      expect(appended).toMatchObject({ code: 0, stdout: '1\n' });
      const [line] = await tail.output(/^.*\n/);
      expect(JSON.parse(line)).toMatchObject({ seq: 1, data: { hello: 'world' } });
      // It keeps following: a second event arrives too.
      expect((await cli(['events', 'append', '--log', log], '[2]\n"three"\n')).stdout).toBe('2\n3\n');
      const lines = (await tail.output(/"seq":3.*\n/)).input!.trimEnd().split('\n');
      expect(lines.map((l) => JSON.parse(l).data)).toEqual([{ hello: 'world' }, [2], 'three']);
      tail.child.kill('SIGTERM');
      const read = await cli(['events', 'read', '--log', log, '--from', '2']);
      expect(
        read.stdout
          .trimEnd()
          .split('\n')
          .map((l) => JSON.parse(l).seq),
      ).toEqual([2, 3]);
    });
  });

  describe(`concurrent-fs port lease (${impl})`, () => {
    it('exports PORT from the range; two leases held at once get different ports', async () => {
      const dir = tempDir();
      const range = ['--range', '41700-41709', '--dir', dir];
      const first = startCli(
        [
          'port',
          'lease',
          ...range,
          '--',
          ...nodeCmd("console.log('port', process.env.PORT); process.stdin.resume(); process.stdin.on('end', () => process.exit(0))"),
        ],
        { env },
      );
      const [, held] = await first.output(/port (\d+)\n/);
      const second = await cli(['port', 'lease', ...range, '--', ...nodeCmd('console.log(process.env.PORT)')]);
      expect(second.code).toBe(0);
      const ports = [Number(held), Number(second.stdout.trim())];
      for (const port of ports) expect(port >= 41700 && port <= 41709, `port ${port} in 41700-41709`).toBe(true);
      expect(new Set(ports).size).toBe(2);
      first.child.stdin.end();
      expect((await first.exited).code).toBe(0);
    });
  });
}

describe('task, events and port: arguments', () => {
  it.each([
    [['task', 'claim', '--dir', '/tmp', '--', 'true'], /claim needs --hold/],
    [['task', 'frob'], /unknown verb 'frob'/],
    [['task', 'add', '--dir', '/tmp', 'not json'], /DATA must be JSON/],
    [['task', 'done'], /only inside 'task claim --hold/],
    [['events', 'tail', '--from', '1', '-n', '2', '--log', '/tmp/x'], /choose one of --from/],
    [['events', 'append', '--durability', 'some', '--log', '/tmp/x', '1'], /--durability must be one of/],
    [['port', 'lease', '--range', '9-1', '--', 'true'], /--range must be FIRST-LAST/],
    [['port', 'lease', '--dir', '/tmp'], /missing COMMAND/],
  ])('%j is a usage error: exit 2', async (args, message) => {
    const run = await runCli(args, { env: { CFS_TASK_OUTCOME: undefined } });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).toContain('Usage: concurrent-fs');
  });

  it.each(['task', 'events', 'port'])('%s --help prints its usage and exits 0', async (name) => {
    const run = await runCli([name, '--help']);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(new RegExp(`^Usage: concurrent-fs ${name} `));
  });
});
