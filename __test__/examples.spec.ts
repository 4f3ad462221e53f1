// The README's worked multi-agent example (examples/crew.sh), run as it stands: a task
// queue, a git worktree per agent, the event log, and the branches merged into main, on
// a real repository with real processes. Counted: every task done or failed exactly
// once, one claim event per task, every finished task's commit on main exactly once.
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { describeWith } from './helpers/foreign';
import { type Finished, ROOT, start } from './helpers/spawn';
import { tempDir } from './helpers/tmp';
import { GIT_MISSING, git, makeRepo } from './helpers/ws';

const CREW = join(ROOT, 'examples', 'crew.sh');
const AGENTS = 3;
const TASKS = [1, 2, 3, 4, 5, 6].map((n) => ({ title: `t${n}`, ...(n === 4 && { fail: true }) }));
/** The "agent": writes its task's data to a file named after the task; fails a `fail` task. */
const AGENT = 'case "$CFS_TASK_DATA" in *fail*) exit 3;; esac; printf "%s\\n" "$CFS_TASK_DATA" > "task-$CFS_TASK_ID.json"';

/** A directory holding a `concurrent-fs` command that runs this checkout's dist/cli.js. */
function binDir(): string {
  const dir = tempDir('cfs-bin');
  const command = join(dir, 'concurrent-fs');
  writeFileSync(command, `#!/bin/sh\nexec "${process.execPath}" "${join(ROOT, 'dist', 'cli.js')}" "$@"\n`);
  chmodSync(command, 0o755);
  return dir;
}

/** Runs `argv` in `cwd` with `input` on stdin and `path` as PATH, to its end. */
function run(cwd: string, argv: string[], input: string, path: string): Promise<Finished> {
  const child = start(argv, { cwd, env: { PATH: path } });
  child.process.stdin.end(input);
  return child.exited;
}

describeWith(GIT_MISSING, 'examples/crew.sh (the README example)', () => {
  it('is the script the README shows', () => {
    expect(readFileSync(join(ROOT, 'README.md'), 'utf8')).toContain(`\`\`\`sh\n${readFileSync(CREW, 'utf8')}\`\`\``);
  });

  it(`${AGENTS} agents work through ${TASKS.length} tasks: each done (or failed) once, claimed once, merged into main once`, async () => {
    const repo = makeRepo(1);
    const path = `${binDir()}:${process.env.PATH}`;
    const input = TASKS.map((t) => `${JSON.stringify(t)}\n`).join('');
    const crew = await run(repo.dir, [CREW, String(AGENTS), AGENT], input, path);
    expect(crew.code, crew.stderr).toBe(0);

    const listed = await run(repo.dir, ['concurrent-fs', 'task', 'list', '--json'], '', path);
    const tasks = JSON.parse(listed.stdout) as { id: string; state: string; data: { title: string; fail?: boolean } }[];
    expect(tasks.map((t) => [t.data.title, t.state])).toEqual(TASKS.map((t) => [t.title, t.fail ? 'failed' : 'done']));

    const read = await run(repo.dir, ['concurrent-fs', 'events', 'read'], '', path);
    const events = read.stdout
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { data: { type: string; task: string; agent: string } }).data);
    for (const task of tasks) {
      const mine = events.filter((e) => e.task === task.id);
      expect(mine.map((e) => e.type)).toEqual(task.state === 'done' ? ['claimed', 'done'] : ['claimed']);
      expect(mine[0]!.agent).toMatch(/^agent-[1-3]$/);
    }

    const done = tasks.filter((t) => t.state === 'done');
    expect(
      git(repo.dir, 'ls-tree', '--name-only', 'main')
        .split('\n')
        .filter((f) => f.startsWith('task-'))
        .sort(),
    ).toEqual(done.map((t) => `task-${t.id}.json`).sort());
    for (const task of done) {
      expect(git(repo.dir, 'show', `main:task-${task.id}.json`)).toBe(JSON.stringify(task.data));
      expect(
        git(repo.dir, 'log', '--format=%s', 'main')
          .split('\n')
          .filter((s) => s.startsWith(`${task.id}:`)),
      ).toHaveLength(1);
    }
  }, 180_000);
});
