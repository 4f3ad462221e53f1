// Crashes: SIGKILL the writer at each step of an atomic write, and at random moments.
//
// A process crash runs no code, so what survives is whatever the steps so far left in
// the filesystem. The promise: the target is the old content until the rename and the
// new content from then on, never anything else; a crash may leave temp files, always
// named `.<base>.<12 hex>.tmp`, never the target; and the next write cleans up only its
// own temp file (someone else's temp could be a live writer's).
//
// (This checks atomicity against process crashes, not power loss: the page cache
// survives a SIGKILL. Power-loss safety rests on the order of the steps, whose trace
// is checked in js-fallback.spec.ts and printed in the crash-point table.)
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type FaultCall, HAVE_STRACE, isTempName, pool, runFaulted, runStraced, SHIM_MISSING, tempGlob } from './helpers/faults';
import { IMPLEMENTATIONS, load } from './helpers/impls';
import { killAfterLine, startFixture } from './helpers/spawn';
import { names, tempDir } from './helpers/tmp';
import type { Impl } from './helpers/worker';

const BASE = 'data.json';
const OLD = Buffer.from('old\n');
const NEW = Buffer.alloc(64 * 1024, 'N');

/** A step of the write sequence, and the state a crash there must leave. */
interface Step {
  label: string;
  call: FaultCall;
  on: 'temp' | 'dir';
  when: 'before' | 'after';
  /** The target after the crash: before the rename old, after it new. */
  target: 'old' | 'new';
  /** Temp files a crash here leaves: the one being written until it is renamed. */
  temps: number | 'link';
}

const STEPS: Step[] = [
  { label: 'after the temp file is created', call: 'open', on: 'temp', when: 'after', target: 'old', temps: 1 },
  { label: 'after the write', call: 'write', on: 'temp', when: 'after', target: 'old', temps: 1 },
  { label: 'at the fsync of the temp file', call: 'fsync', on: 'temp', when: 'before', target: 'old', temps: 1 },
  { label: 'after the fsync of the temp file', call: 'fsync', on: 'temp', when: 'after', target: 'old', temps: 1 },
  { label: 'at the rename', call: 'rename', on: 'temp', when: 'before', target: 'old', temps: 1 },
  // link + unlink (the fallback's no-clobber commit) leaves the temp as a second name of
  // the new file when the crash falls between the two.
  { label: 'after the rename', call: 'rename', on: 'temp', when: 'after', target: 'new', temps: 'link' },
  { label: 'at the fsync of the directory', call: 'fsync', on: 'dir', when: 'before', target: 'new', temps: 0 },
  { label: 'after the fsync of the directory', call: 'fsync', on: 'dir', when: 'after', target: 'new', temps: 0 },
];

const APIS = ['atomicWriteSync', 'atomicWrite', 'createExclusive'] as const;
type Api = (typeof APIS)[number];

const crashTable = new Map<string, string>();

/** Kills a writer at `step`; checks the target, the temps, and the next write. Returns problems (none to pass). */
async function crashAt(step: Step, impl: Impl, api: Api): Promise<string[]> {
  const cfs = load(impl);
  const dir = tempDir('cfs-crash');
  const target = join(dir, BASE);
  const exclusive = api === 'createExclusive';
  if (!exclusive) writeFileSync(target, OLD);
  const run = await runFaulted('fault-child.cjs', [impl, api, target, 'full', String(NEW.length)], {
    fault: { call: step.call, path: step.on === 'dir' ? dir : tempGlob(dir, BASE), action: 'kill', when: step.when },
  });
  const problems: string[] = [];
  if (run.signal !== 'SIGKILL') return [`the writer was not killed at this step (exit ${run.code}): ${run.stdout}${run.stderr}`];

  const left = names(dir);
  const temps = left.filter((n) => n !== BASE);
  let content: Buffer | undefined;
  try {
    content = readFileSync(target);
  } catch {}
  const old = exclusive ? content === undefined : content?.equals(OLD);
  const state = content?.equals(NEW) ? 'new' : old ? (exclusive ? 'absent' : 'old') : `torn (${content?.length} bytes)`;
  if (state !== (step.target === 'new' ? 'new' : exclusive ? 'absent' : 'old')) problems.push(`the target is ${state}`);
  for (const name of temps) if (!isTempName(name, BASE)) problems.push(`left ${name}, not a temp name`);
  const expectedTemps = step.temps === 'link' ? (impl === 'js' && exclusive ? 1 : 0) : step.temps;
  if (temps.length !== expectedTemps) problems.push(`${temps.length} temp files left, expected ${expectedTemps}`);

  // The next write succeeds, leaves the crash's temps alone and adds none of its own.
  const next = Buffer.from('next\n');
  if (exclusive && content === undefined) expect(await cfs.createExclusive(target, next)).toBe(true);
  else await cfs.atomicWrite(target, next);
  if (!readFileSync(target).equals(next)) problems.push('the next write did not land');
  const after = names(dir);
  const expectedAfter = [...new Set([...left, BASE])].sort();
  if (JSON.stringify(after) !== JSON.stringify(expectedAfter)) problems.push(`after the next write: ${after.join(', ')}`);

  crashTable.set(`${step.label}|${impl}|${api}`, problems.length === 0 ? `${state}, ${temps.length} temp` : `✗ ${problems.join('; ')}`);
  return problems;
}

describe.skipIf(SHIM_MISSING)('SIGKILL at each step of an atomic write', () => {
  describe.each(IMPLEMENTATIONS)('%s', (impl) => {
    it.each(STEPS)('$label: the target is the old or the new content, the next write adds no temp', async (step) => {
      const problems = await pool(
        3,
        APIS.map((api) => () => crashAt(step, impl, api)),
      );
      expect(Object.fromEntries(APIS.map((api, i) => [api, problems[i]]))).toEqual(Object.fromEntries(APIS.map((api) => [api, []])));
    });
  });

  afterAll(() => {
    if (crashTable.size === 0) return;
    const markdown = crashPointTable();
    console.log(markdown);
    if (process.env.CFS_TABLES_DIR) writeFileSync(join(process.env.CFS_TABLES_DIR, 'crash-point-table.md'), markdown);
  });
});

function crashPointTable(): string {
  const columns = IMPLEMENTATIONS.flatMap((impl) => APIS.map((api) => [impl, api] as const));
  const lines = [
    '# Crash points',
    '',
    'Generated by `npm run faults:table` (`__test__/crash.spec.ts`). A child process writes 64 KiB',
    "over `old` (createExclusive: creates it) with durability 'full' and is SIGKILLed by an LD_PRELOAD",
    'shim just before or just after one system call of the write. Each cell: the target afterwards',
    '(old, new, or absent for createExclusive) and the temp files left. Every cell also checked that',
    'leftovers are named `.<base>.<12 hex>.tmp` and that the next write succeeded, left them alone and',
    'added no temp file of its own.',
    '',
    `| crash | ${columns.map(([impl, api]) => `${impl} ${api}`).join(' | ')} |`,
    `| --- | ${columns.map(() => '---').join(' | ')} |`,
  ];
  for (const step of STEPS) {
    const cells = columns.map(([impl, api]) => crashTable.get(`${step.label}|${impl}|${api}`) ?? 'not run');
    lines.push(`| ${step.label} | ${cells.join(' | ')} |`);
  }
  return `${lines.join('\n')}\n`;
}

// The same crash points through strace's own injection (`inject=...:signal=KILL`, which
// kills on entry to the call): on the sync path every step runs on the main thread, so
// strace without -f, counting per thread, names each step exactly.
describe.runIf(HAVE_STRACE)('SIGKILL by strace at the steps of atomicWriteSync', () => {
  const WRITE = `require(process.env.IMPL === 'js' ? 'concurrent-fs/js' : 'concurrent-fs/native')
    .atomicWriteSync(process.env.TARGET, Buffer.alloc(65536, 'N'));`;
  const renames = 'rename,renameat,renameat2';
  const points = [
    { label: 'fsync of the temp file', inject: 'fsync:signal=KILL:when=1', target: 'old', temps: 1 },
    { label: 'rename', inject: `${renames}:signal=KILL:when=1`, target: 'old', temps: 1 },
    { label: 'fsync of the directory', inject: 'fsync:signal=KILL:when=2', target: 'new', temps: 0 },
  ];

  it.each(IMPLEMENTATIONS.flatMap((impl) => points.map((p) => ({ impl, ...p }))))(
    '$impl, killed at the $label',
    ({ impl, inject, ...want }) => {
      const dir = tempDir('cfs-strace-crash');
      const target = join(dir, BASE);
      writeFileSync(target, OLD);
      const run = runStraced(['-qq', '-o', '/dev/null', '-e', `trace=fsync,${renames}`, '-e', `inject=${inject}`], WRITE, {
        IMPL: impl,
        TARGET: target,
      });
      // strace ends the way its tracee did: killed by SIGKILL.
      expect(run.signal ?? run.code).toBe('SIGKILL');
      const content = readFileSync(target);
      expect(content.equals(want.target === 'old' ? OLD : NEW)).toBe(true);
      const temps = names(dir).filter((n) => n !== BASE);
      expect(temps).toHaveLength(want.temps);
      for (const name of temps) expect(isTempName(name, BASE)).toBe(true);
    },
  );
});

/** Starts a crash-writer and SIGKILLs it `delayMs` after it starts writing; resolves on exit. */
function killWriterAfter(kind: Impl | 'control', path: string, size: number, delayMs: number): Promise<void> {
  return killAfterLine(startFixture('crash-writer.cjs', [kind, path, size]), () => true, delayMs);
}

/**
 * `rounds` writers of 256 KiB payloads killed at random moments (0-30 ms into their
 * write loop), in 3 lanes of one target each. Returns how many kills left a target that is neither payload.
 */
async function randomKills(kind: Impl | 'control', rounds: number): Promise<{ damaged: number; strayNames: string[] }> {
  const size = 256 * 1024;
  const payload = (tag: string) => Buffer.concat([Buffer.from(`${tag}\n`), Buffer.alloc(size - 2, tag)]);
  const valid = [payload('A'), payload('B')];
  let damaged = 0;
  const strayNames: string[] = [];
  const lanes = Array.from({ length: 3 }, () => {
    const dir = tempDir('cfs-kill');
    const path = join(dir, BASE);
    writeFileSync(path, valid[0]!);
    return { dir, path };
  });
  await pool(
    lanes.length,
    lanes.map((lane, l) => async () => {
      for (let round = l; round < rounds; round += lanes.length) {
        await killWriterAfter(kind, lane.path, size, Math.random() * 30);
        const content = readFileSync(lane.path);
        if (!valid.some((v) => v.equals(content))) {
          damaged++;
          writeFileSync(lane.path, valid[0]!); // start the next round from a whole file
        }
      }
      strayNames.push(...names(lane.dir).filter((n) => n !== BASE && !isTempName(n, BASE)));
    }),
  );
  return { damaged, strayNames };
}

const KILL_ROUNDS = Number(process.env.CFS_KILL_ROUNDS ?? 300);

describe('SIGKILL at random moments, with a negative control', () => {
  it('the check sees damage: plain fs.writeFileSync, killed the same way, leaves torn files', async () => {
    const rounds = Math.min(KILL_ROUNDS, 100);
    const { damaged } = await randomKills('control', rounds);
    console.log(`control: ${damaged} of ${rounds} kills of fs.writeFileSync left a torn or empty file`);
    expect(damaged).toBeGreaterThan(0);
  }, 180_000);

  it.each(IMPLEMENTATIONS)(
    `%s: ${KILL_ROUNDS} kills, the target is always one whole payload`,
    async (impl) => {
      const { damaged, strayNames } = await randomKills(impl, KILL_ROUNDS);
      expect({ damaged, strayNames }).toEqual({ damaged: 0, strayNames: [] });
    },
    180_000,
  );
});
