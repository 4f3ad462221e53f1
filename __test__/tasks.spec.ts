// TaskQueue: at most one live claimer per task, exclusive keys, dependsOn, maxAttempts.
// The history checker runs real worker processes that drain one queue while some are
// SIGKILLed mid-task; each worker logs `start`/`end` under its lease to one O_APPEND log,
// and the parent logs `kill <worker>` there *before* it sends SIGKILL. The log must then
// explain a history in which no task (and no exclusive key) was ever held by two live
// workers, every dependency ended before its dependant started, every task is done,
// none was acknowledged twice, and a task taken back from a dead worker counted up.
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IMPLEMENTATIONS, load } from './helpers/impls';
import { startFixture, startNode } from './helpers/spawn';
import { tempDir } from './helpers/tmp';

const WORKERS = 6;
const TASKS = 240;
const VICTIMS = 3;
const KEYS = ['src/auth/**', 'src/db/**', 'docs/**'];

interface Plan {
  keys: Map<string, string[]>;
  deps: Map<string, string[]>;
}

/** TASKS tasks: every third has an exclusive key, every fifth depends on an earlier one. */
async function addTasks(impl: 'native' | 'js', dir: string): Promise<Plan> {
  const q = new (load(impl).TaskQueue)(dir);
  const plan: Plan = { keys: new Map(), deps: new Map() };
  const ids: string[] = [];
  for (let i = 0; i < TASKS; i++) {
    const exclusive = i % 3 === 0 ? [KEYS[i % KEYS.length] as string] : [];
    const dependsOn = i % 5 === 4 ? [ids[Math.floor(Math.random() * ids.length)] as string] : [];
    const id = await q.add({ i }, { exclusive, dependsOn, maxAttempts: 10 });
    ids.push(id);
    plan.keys.set(id, exclusive);
    plan.deps.set(id, dependsOn);
  }
  return plan;
}

interface Run {
  acked: string[];
  killed: Set<string>;
}

/** Starts the workers; each victim is SIGKILLed on a random `start` line of its own. */
async function runWorkers(impl: string, dir: string, logPath: string, names: string[], victims: Map<string, number>): Promise<Run> {
  const run: Run = { acked: [], killed: new Set() };
  const runOne = async (name: string) => {
    const child = startFixture('task-worker.cjs', [impl, dir, logPath, name]);
    let starts = 0;
    child.onLine((line) => {
      const [kind, id] = line.split(' ');
      if (kind === 'done') run.acked.push(id as string);
      if (kind === 'start' && ++starts === victims.get(name) && !run.killed.has(name)) {
        run.killed.add(name);
        appendFileSync(logPath, `kill ${name}\n`); // before the kill: its lease may free at once
        child.process.kill('SIGKILL');
      }
    });
    const end = await child.exited;
    if (end.code === 0 || (end.signal === 'SIGKILL' && run.killed.has(name))) return;
    throw new Error(`worker ${name} failed (${end.code ?? end.signal}): ${end.stderr}`);
  };
  await Promise.all(names.map(runOne));
  return run;
}

/** Replays the log; every list in the result must be empty, and `recovered` names tasks taken back from the dead. */
function check(logText: string, plan: Plan) {
  const holder = new Map<string, string>(); // task -> worker
  const keyHolder = new Map<string, string>(); // key -> worker
  const dead = new Set<string>();
  const ended = new Set<string>();
  const attemptsSeen = new Map<string, number[]>();
  const overlaps: string[] = [];
  const early: string[] = [];
  const recovered = new Set<string>();
  const live = (worker: string | undefined) => worker !== undefined && !dead.has(worker);
  for (const line of logText.split('\n').filter(Boolean)) {
    const [kind, a, b, c] = line.split(' ') as [string, string, string?, string?];
    if (kind === 'kill') {
      dead.add(a);
      continue;
    }
    const worker = b as string;
    if (kind === 'start') {
      const previous = holder.get(a);
      if (live(previous)) overlaps.push(`${a} held by ${previous} and ${worker}`);
      if (previous !== undefined) recovered.add(a);
      for (const key of plan.keys.get(a) ?? []) {
        if (live(keyHolder.get(key))) overlaps.push(`key ${key} held by ${keyHolder.get(key)} and ${worker}`);
        keyHolder.set(key, worker);
      }
      for (const dep of plan.deps.get(a) ?? []) if (!ended.has(dep)) early.push(`${a} started before its dependency ${dep} ended`);
      holder.set(a, worker);
      attemptsSeen.set(a, [...(attemptsSeen.get(a) ?? []), Number(c)]);
    } else if (kind === 'end') {
      if (holder.get(a) !== worker) overlaps.push(`${a} ended by ${worker}, held by ${holder.get(a)}`);
      holder.delete(a);
      for (const key of plan.keys.get(a) ?? []) if (keyHolder.get(key) === worker) keyHolder.delete(key);
      ended.add(a);
    }
  }
  const notCountedUp = [...attemptsSeen].filter(([, seen]) => seen.some((n, i) => i > 0 && n <= (seen[i - 1] as number))).map(([id]) => id);
  return { overlaps, early, notCountedUp, recovered };
}

const ids = (dir: string) =>
  readdirSync(dir)
    .filter((n) => n.endsWith('.json') && !n.startsWith('.'))
    .map((n) => n.slice(0, -5));

describe.each(IMPLEMENTATIONS)('TaskQueue history (%s)', (impl) => {
  it(`${WORKERS} workers drain ${TASKS} tasks with ${VICTIMS} SIGKILLed: one live holder per task and key, each done once`, async () => {
    const dir = tempDir('tasks');
    const logPath = join(dir, 'history.log');
    const plan = await addTasks(impl, join(dir, 'q'));
    const names = Array.from({ length: WORKERS }, (_, i) => `w${i}`);
    const victims = new Map(names.slice(0, VICTIMS).map((name) => [name, 5 + Math.floor(Math.random() * 25)]));
    const run = await runWorkers(impl, join(dir, 'q'), logPath, names, victims);
    // A last worker, never killed, finishes what the killed ones left.
    const last = await runWorkers(impl, join(dir, 'q'), logPath, ['final'], new Map());
    const acked = [...run.acked, ...last.acked];

    const result = check(readFileSync(logPath, 'utf8'), plan);
    expect(result.overlaps).toEqual([]);
    expect(result.early).toEqual([]);
    expect(result.notCountedUp).toEqual([]);
    expect(run.killed.size).toBe(VICTIMS);
    expect(result.recovered.size).toBeGreaterThan(0);
    expect(acked.length).toBe(new Set(acked).size); // no task acknowledged twice
    expect(ids(join(dir, 'q', 'done')).sort()).toEqual([...plan.keys.keys()].sort());
    for (const state of ['ready', 'claimed', 'failed']) expect(ids(join(dir, 'q', state))).toEqual([]);
    const q = new (load(impl).TaskQueue)(join(dir, 'q'));
    const done = await q.list({ state: 'done' });
    for (const id of result.recovered) expect(done.find((t) => t.id === id)?.attempts).toBeGreaterThan(1);
  }, 120_000);
});

/** A child that claims one task of `dir`, prints `claimed <id> <attempts>` and holds it until killed. */
function holdOne(impl: string, dir: string) {
  return startNode(`
    const { TaskQueue } = require('./dist/${impl === 'js' ? 'js' : 'native'}.js');
    new TaskQueue(${JSON.stringify(dir)}).claim().then((t) => {
      console.log(t ? 'claimed ' + t.id + ' ' + t.attempts : 'none');
      setInterval(() => {}, 60000);
    });
  `);
}

describe.each(IMPLEMENTATIONS)('TaskQueue (%s)', (impl) => {
  const api = () => load(impl);

  it('a dead claimer gives its task back at once, counted up; after maxAttempts it is failed', async () => {
    const dir = tempDir('tasks');
    const q = new (api().TaskQueue)(dir);
    const id = await q.add('x', { maxAttempts: 2 });
    for (const attempt of [1, 2]) {
      const child = holdOne(impl, dir);
      expect(await child.nextLine()).toBe(`claimed ${id} ${attempt}`);
      expect(await q.claim()).toBeUndefined(); // held by a live claimer: never taken from it
      child.process.kill('SIGKILL');
      await child.exited;
    }
    expect(await q.claim()).toBeUndefined();
    const [failed] = await q.list({ state: 'failed' });
    expect(failed).toMatchObject({ id, state: 'failed', attempts: 2 });
    expect(failed?.error?.message).toMatch(/claimer ended/);
  });

  it('a task whose claimer died is claimed again at once with attempts 2', async () => {
    const dir = tempDir('tasks');
    const q = new (api().TaskQueue)(dir);
    const id = await q.add({ n: 1 });
    const child = holdOne(impl, dir);
    expect(await child.nextLine()).toBe(`claimed ${id} 1`);
    child.process.kill('SIGKILL');
    await child.exited;
    const again = await q.claim();
    expect([again?.id, again?.attempts, again?.data]).toEqual([id, 2, { n: 1 }]);
    await again?.complete('ok');
    expect(await q.list()).toMatchObject([{ id, state: 'done', result: 'ok', attempts: 2 }]);
  });

  it('a claimer killed between writing claimed/ and removing ready/: the stale ready copy never comes back', async () => {
    // A claim writes claimed/<id>.json, then removes ready/<id>.json; this is the state a
    // SIGKILL between the two leaves (made by hand: the window is microseconds wide).
    const killedMidClaim = async (maxAttempts: number) => {
      const dir = tempDir('tasks');
      const q = new (api().TaskQueue)(dir);
      const id = await q.add({ n: 1 }, { maxAttempts });
      const ready = JSON.parse(readFileSync(join(dir, 'ready', `${id}.json`), 'utf8'));
      writeFileSync(join(dir, 'claimed', `${id}.json`), JSON.stringify({ ...ready, attempts: 1, worker: 'dead' }));
      return { dir, q, id };
    };
    const states = (dir: string) => ['ready', 'claimed', 'done', 'failed'].map((s) => readdirSync(join(dir, s)).length);

    const retried = await killedMidClaim(3);
    const again = await retried.q.claim();
    expect([again?.id, again?.attempts]).toEqual([retried.id, 2]);
    await again?.complete();
    expect(await retried.q.claim()).toBeUndefined();
    expect(states(retried.dir)).toEqual([0, 0, 1, 0]);

    const spent = await killedMidClaim(1);
    expect(await spent.q.claim()).toBeUndefined(); // out of attempts: failed, and not handed out from the stale copy
    expect(await spent.q.list()).toMatchObject([{ id: spent.id, state: 'failed', attempts: 1 }]);
    expect(states(spent.dir)).toEqual([0, 0, 0, 1]);
  });

  it('exclusive keys: a task is not handed out while one sharing a key is claimed', async () => {
    const q = new (api().TaskQueue)(tempDir('tasks'));
    const a = await q.add('a', { exclusive: ['src/auth/**', 'x'] });
    const b = await q.add('b', { exclusive: ['src/auth/**'] });
    const c = await q.add('c', { exclusive: ['other'] });
    const first = await q.claim();
    expect(first?.id).toBe(a);
    const second = await q.claim();
    expect(second?.id).toBe(c); // b skipped: it shares a key with a
    expect(await q.claim()).toBeUndefined();
    await first?.complete();
    expect((await q.claim())?.id).toBe(b);
  });

  it('dependsOn: a task is ready only when its dependencies are done; a failed one fails it', async () => {
    const q = new (api().TaskQueue)(tempDir('tasks'));
    const a = await q.add('a');
    const b = await q.add('b', { dependsOn: [a] });
    await q.add('c', { dependsOn: [b] });
    const ta = await q.claim();
    expect(ta?.id).toBe(a);
    expect(await q.claim()).toBeUndefined();
    await ta?.complete();
    const tb = await q.claim();
    expect(tb?.id).toBe(b);
    await tb?.fail(new Error('broken'));
    expect(await q.claim()).toBeUndefined();
    const states = Object.fromEntries((await q.list()).map((t) => [t.data, [t.state, t.error?.message]]));
    expect(states).toEqual({ a: ['done', undefined], b: ['failed', 'broken'], c: ['failed', `dependency ${b} failed`] });
    await expect(q.add('d', { dependsOn: ['no-such-task'] })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
  });

  it('fail with retry puts the task back until maxAttempts, then it is failed', async () => {
    const q = new (api().TaskQueue)(tempDir('tasks'));
    const id = await q.add('t', { maxAttempts: 2 });
    const t1 = await q.claim({ worker: 'alice' });
    await t1?.fail(new Error('flaky'), { retry: true });
    const t2 = await q.claim();
    expect([t2?.id, t2?.attempts]).toEqual([id, 2]);
    await t2?.fail('still flaky', { retry: true });
    expect(await q.list()).toMatchObject([{ id, state: 'failed', attempts: 2, worker: 'alice', error: { message: 'still flaky' } }]);
  });

  it('a task ends once: complete twice throws, dispose after complete does nothing, dispose without it gives it back', async () => {
    const q = new (api().TaskQueue)(tempDir('tasks'));
    const id = await q.add('t');
    {
      await using t = await q.claim();
      expect(t?.id).toBe(id);
    }
    const t = await q.claim();
    expect(t?.attempts).toBe(2);
    await t?.complete();
    await expect(t?.complete()).rejects.toMatchObject({ code: 'ERR_INVALID_STATE' });
    await t?.[Symbol.asyncDispose]();
    expect(await q.list()).toMatchObject([{ id, state: 'done' }]);
  });

  it('claim({ wait }) gets a task added while it waits; an aborted signal rejects', async () => {
    const q = new (api().TaskQueue)(tempDir('tasks'));
    const waiting = q.claim({ wait: 10_000 });
    const id = await q.add('late');
    expect((await waiting)?.id).toBe(id);
    await expect(q.claim({ signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('bad arguments throw before any file is touched', async () => {
    const dir = join(tempDir('tasks'), 'q');
    const q = new (api().TaskQueue)(dir);
    await expect(q.add('x', { maxAttempts: 0 })).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    await expect(q.add('x', { exclusive: 'k' as never })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    await expect(q.add(() => 1)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(q.list({ state: 'nope' as never })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    expect(() => readdirSync(dir)).toThrow(/ENOENT/);
  });

  it('a bad result or fail option rejects (never throws) and leaves the task held', async () => {
    const q = new (api().TaskQueue)(tempDir('tasks'));
    const id = await q.add('t');
    const t = await q.claim();
    if (!t) throw new Error('no task claimed');
    const completing = t.complete(10n);
    expect(completing).toBeInstanceOf(Promise);
    await expect(completing).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    const failing = t.fail(new Error('x'), { retry: 'yes' as never });
    expect(failing).toBeInstanceOf(Promise);
    await expect(failing).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    expect(await q.list()).toMatchObject([{ id, state: 'claimed' }]);
    await t.complete({ ok: true });
    expect(await q.list()).toMatchObject([{ id, state: 'done', result: { ok: true } }]);
  });
});
