// `concurrent-fs status LOCKFILE... [--json]`, run as a real process against dist/cli.js.
import { readdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, startCli } from './helpers/cli';
import { describeWith, FLOCK_MISSING, flockHolder } from './helpers/foreign';
import { tempDir } from './helpers/tmp';

function lockFiles(...names: string[]): string[] {
  const dir = tempDir('status-cli');
  return names.map((name) => {
    const path = join(dir, name);
    writeFileSync(path, '');
    return path;
  });
}

describe('concurrent-fs status', () => {
  it('prints one line per file, free or held by the CLI lock (the wrapper took the flock), and exits 0', async () => {
    const [held, free] = lockFiles('held.lock', 'free.lock') as [string, string];
    const missing = join(held, '..', 'missing.lock');
    const holder = startCli(['lock', held, '--', 'sh', '-c', 'echo ready; read line']);
    await holder.output(/ready\n/);
    const run = await runCli(['status', held, free, missing]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toBe(`${held}: held exclusive by pid ${holder.child.pid}\n${free}: free\n${missing}: free\n`);
    expect(readdirSync(join(held, '..')).sort()).toEqual(['free.lock', 'held.lock']); // nothing created
    holder.child.stdin.end('\n');
    expect((await holder.exited).code).toBe(0);
  });

  it('--json: one JSON object per line, in the order given', async () => {
    const [held, free] = lockFiles('held.lock', 'free.lock') as [string, string];
    const holder = startCli(['lock', '--shared', held, '--', 'sh', '-c', 'echo ready; read line']);
    await holder.output(/ready\n/);
    const run = await runCli(['status', '--json', held, free]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(
      run.stdout
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line)),
    ).toEqual([
      { path: held, locked: true, shared: true, holders: [{ pid: holder.child.pid }] },
      { path: free, locked: false, shared: false, holders: [] },
    ]);
    holder.child.stdin.end('\n');
    await holder.exited;
  });

  it('a fallback holder is shown with its host', async () => {
    const [held] = lockFiles('held.lock') as [string];
    const holder = startCli(['lock', held, '--', 'sh', '-c', 'echo ready; read line'], { env: { CONCURRENT_FS_IMPL: 'js' } });
    await holder.output(/ready\n/);
    const run = await runCli(['status', held]);
    expect(run.stdout).toBe(`${held}: held exclusive by pid ${holder.child.pid} on ${hostname()}\n`);
    holder.child.stdin.end('\n');
    await holder.exited;
  });

  it('a file that cannot be looked at: the error on stderr, the other files still reported, exit 1', async () => {
    const [free] = lockFiles('free.lock') as [string];
    const bad = join(free, 'x.lock'); // through a regular file: ENOTDIR
    const run = await runCli(['status', bad, free]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^concurrent-fs status: ENOTDIR.*x\.lock/);
    expect(run.stdout).toBe(`${free}: free\n`);
  });

  it('usage errors exit 2 with the usage on stderr; --help exits 0', async () => {
    for (const args of [['status'], ['status', '--bogus', 'x.lock'], ['status', '--json']]) {
      const run = await runCli(args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr).toContain('Usage: concurrent-fs status');
      expect(run.stdout).toBe('');
    }
    const help = await runCli(['status', '--help']);
    expect(help).toMatchObject({ code: 0, stderr: '' });
    expect(help.stdout).toContain('Usage: concurrent-fs status [--json] LOCKFILE...');
    expect((await runCli(['--help'])).stdout).toMatch(/\n {2}status +say who holds each lock file/);
  });
});

describeWith(FLOCK_MISSING, 'concurrent-fs status and flock(1)', () => {
  it('shows flock(1) holders by pid, exclusive and shared', async () => {
    const [a, b] = lockFiles('a.lock', 'b.lock') as [string, string];
    const writer = await flockHolder(a);
    const readers = [await flockHolder(b, { shared: true }), await flockHolder(b, { shared: true })];
    const run = await runCli(['status', a, b]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`${a}: held exclusive by pid ${writer.process.pid}`);
    const pids = lines[1]!
      .match(/^.*: held shared by pids (\d+), (\d+)$/)!
      .slice(1)
      .map(Number)
      .sort();
    expect(pids).toEqual(readers.map((r) => r.process.pid as number).sort());
    for (const holder of [writer, ...readers]) holder.send('go');
  });
});
