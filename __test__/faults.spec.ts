// Injected I/O faults on every write path, both implementations.
//
// Each cell of the matrix is one child process (fixtures/fault-child.cjs) making one
// call through the public API while the LD_PRELOAD shim fails one system call. A cell
// passes when:
// - the call fails with the injected code;
// - the target is byte-identical (absent stays absent), or, for a failed directory
//   fsync, the error says `committed: true` and the new content is in place;
// - no temp file is left, and the child holds no descriptor it did not hold before;
// - the shim's trace shows no successful rename (or link) of a temp file after the
//   fault: a temp whose flush failed is never put in place.
// The matrix is printed at the end, and saved to docs/ by `npm run faults:table`.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Fault, type FaultCall, pool, report, runFaulted, runStraced, SHIM_MISSING, STRACE_MISSING, tempGlob } from './helpers/faults';
import { IMPLEMENTATIONS } from './helpers/impls';
import { names, tempDir } from './helpers/tmp';
import type { Impl } from './helpers/worker';

interface FaultCase {
  label: string;
  call: FaultCall;
  errno: NonNullable<Fault['errno']>;
  /** Which file's call fails: the temp file, or the target's directory. */
  on: 'temp' | 'dir';
  durability: 'full' | 'data';
  /** 'old': target untouched; 'committed': the error says so and the new content is in place. */
  expect: 'old' | 'committed';
}

const FAULTS: FaultCase[] = [
  { label: 'EIO on fsync of the temp file', call: 'fsync', errno: 'EIO', on: 'temp', durability: 'full', expect: 'old' },
  { label: 'EIO on fdatasync of the temp file', call: 'fdatasync', errno: 'EIO', on: 'temp', durability: 'data', expect: 'old' },
  { label: 'EIO on write', call: 'write', errno: 'EIO', on: 'temp', durability: 'full', expect: 'old' },
  { label: 'ENOSPC on write', call: 'write', errno: 'ENOSPC', on: 'temp', durability: 'full', expect: 'old' },
  { label: 'EIO on rename (link for no-clobber)', call: 'rename', errno: 'EIO', on: 'temp', durability: 'full', expect: 'old' },
  { label: 'EMFILE on open of the temp file', call: 'open', errno: 'EMFILE', on: 'temp', durability: 'full', expect: 'old' },
  { label: 'EMFILE on open of the directory', call: 'open', errno: 'EMFILE', on: 'dir', durability: 'full', expect: 'old' },
  { label: 'EIO on fsync of the directory', call: 'fsync', errno: 'EIO', on: 'dir', durability: 'full', expect: 'committed' },
];

/** Every public write path. */
const PATHS = [
  'atomicWriteSync',
  'atomicWrite',
  'openAtomic',
  'createExclusiveSync',
  'createExclusive',
  'writeIfVersion',
  'store.update',
  'store.updateOptimistic',
];

const BASE = 'data.json';
const OLD = Buffer.from('{"old":true}\n');
const SIZE = 64 * 1024;

interface ChildReport {
  ok: boolean;
  code?: string;
  syscall?: string;
  committed?: boolean;
  message?: string;
  leaked: string[];
}

/** What one cell observed, as the table shows it, and the problems found (none to pass). */
interface Cell {
  text: string;
  problems: string[];
}

const table = new Map<string, Cell>();
const key = (fault: FaultCase, impl: Impl, path: string) => `${fault.label}|${impl}|${path}`;

function isNew(path: string, content: Buffer | undefined): boolean {
  if (content === undefined) return false;
  if (path.startsWith('store.')) return (JSON.parse(content.toString()) as { payload: string }).payload.length === SIZE;
  return content.equals(Buffer.alloc(SIZE, 'N'));
}

async function runCell(fault: FaultCase, impl: Impl, path: string): Promise<Cell> {
  const dir = tempDir('cfs-fault');
  const target = join(dir, BASE);
  // createExclusive's target is absent, and must stay so; every other path replaces OLD.
  const exclusive = path.startsWith('createExclusive');
  if (!exclusive) writeFileSync(target, OLD);
  const run = await runFaulted('fault-child.cjs', [impl, path, target, fault.durability, String(SIZE)], {
    fault: { call: fault.call, path: fault.on === 'dir' ? dir : tempGlob(dir, BASE), errno: fault.errno },
    trace: `${dir}*`,
  });
  const problems: string[] = [];
  if (run.code !== 0) return { text: `✗ exit ${run.code ?? run.signal}`, problems: [`child failed: ${run.stderr}`] };
  const result = report<ChildReport>(run);
  let content: Buffer | undefined;
  try {
    content = readFileSync(target);
  } catch {}

  if (result.ok) problems.push('the call succeeded');
  else if (result.code !== fault.errno) problems.push(`failed with ${result.code} (${result.message})`);
  if (fault.expect === 'committed') {
    if (!result.committed) problems.push('committed is not true');
    if (!isNew(path, content)) problems.push('the new content is not in place');
  } else {
    if (result.committed) problems.push('committed is true');
    const intact = exclusive ? content === undefined : content?.equals(OLD);
    if (!intact) problems.push(exclusive ? 'the target appeared' : 'the target changed');
  }
  // Only the target and, for writeIfVersion, its lock sidecar may remain.
  const extra = names(dir).filter((n) => n !== BASE && n !== `${BASE}.lock`);
  if (extra.length > 0) problems.push(`left ${extra.join(', ')}`);
  if (result.leaked.length > 0) problems.push(`leaked descriptors: ${result.leaked.join(', ')}`);
  const injected = run.log.findIndex((line) => line.endsWith(' injected'));
  if (injected < 0) problems.push('the fault was never injected');
  const committedAfter = run.log.slice(injected + 1).some((line) => /^(rename|link) .*\.tmp ok$/.test(line));
  if (fault.expect === 'old' && committedAfter) problems.push('a temp file was renamed after the fault');

  const state = fault.expect === 'committed' ? 'committed, new in place' : exclusive ? 'still absent' : 'old kept';
  const text = problems.length === 0 ? `✓ ${result.code} (${result.syscall}), ${state}` : `✗ ${problems.join('; ')}`;
  return { text, problems };
}

describe.skipIf(SHIM_MISSING)('injected faults on every write path', () => {
  describe.each(IMPLEMENTATIONS)('%s', (impl) => {
    it.each(FAULTS)('$label: fails with the code, target intact (or committed), no temp, no fd leak', async (fault) => {
      const cells = await pool(
        3,
        PATHS.map((path) => () => runCell(fault, impl, path)),
      );
      for (const [i, path] of PATHS.entries()) table.set(key(fault, impl, path), cells[i]!);
      const failures = PATHS.map((path, i) => [path, cells[i]!.problems] as const).filter(([, problems]) => problems.length > 0);
      expect(failures).toEqual([]);
    });
  });

  afterAll(() => {
    if (table.size === 0) return;
    const markdown = faultTable();
    console.log(markdown);
    if (process.env.CFS_TABLES_DIR) writeFileSync(join(process.env.CFS_TABLES_DIR, 'fault-table.md'), markdown);
  });
});

if (SHIM_MISSING) {
  it.skip(`injected faults: skipped, ${SHIM_MISSING}`, () => {});
}

// EINTR says a signal arrived during the call, not that it failed: it must be retried,
// never reported. strace makes the first call of each kind (per thread) return EINTR;
// the write must succeed anyway, with the new content and no temp file. (open is not
// injected: Node's own startup opens files, and a first openat is not ours.)
const EINTR_ROWS = [
  { label: 'fsync of the temp file', calls: 'fsync', durability: 'full', noClobber: false },
  { label: 'fdatasync of the temp file', calls: 'fdatasync', durability: 'data', noClobber: false },
  { label: 'fchmod of the temp file', calls: 'fchmod', durability: 'none', noClobber: false },
  { label: 'rename', calls: 'rename,renameat,renameat2', durability: 'none', noClobber: false },
  { label: 'no-clobber rename (or link)', calls: 'renameat2,link,linkat', durability: 'none', noClobber: true },
] as const;

const WRITE_AND_REPORT = `
  const cfs = require(process.env.IMPL === 'js' ? 'concurrent-fs/js' : 'concurrent-fs/native');
  const { TARGET, API } = process.env;
  const options = { durability: process.env.DURABILITY, noClobber: process.env.NO_CLOBBER === '1' };
  Promise.resolve()
    .then(() => API === 'sync' ? cfs.atomicWriteSync(TARGET, 'new', options) : cfs.atomicWrite(TARGET, 'new', options))
    .then(() => console.log(JSON.stringify({ ok: true })), (err) => console.log(JSON.stringify({ ok: false, code: err.code, syscall: err.syscall })));
`;

describe.skipIf(STRACE_MISSING)('EINTR is retried, never reported', () => {
  it.each(IMPLEMENTATIONS.flatMap((impl) => ['sync', 'async'].flatMap((api) => EINTR_ROWS.map((row) => ({ impl, api, ...row })))))(
    '$impl $api: EINTR on $label',
    ({ impl, api, calls, durability, noClobber }) => {
      const dir = tempDir('cfs-eintr');
      const target = join(dir, BASE);
      const log = join(tempDir('cfs-eintr-log'), 'trace');
      // An existing target gets its mode copied (fchmod); a no-clobber write needs none.
      if (!noClobber) writeFileSync(target, OLD);
      const run = runStraced(
        ['-f', '-qq', '-o', log, '-e', `trace=${calls}`, '-e', `inject=${calls}:error=EINTR:when=1`],
        WRITE_AND_REPORT,
        {
          IMPL: impl,
          API: api,
          TARGET: target,
          DURABILITY: durability,
          NO_CLOBBER: noClobber ? '1' : '0',
        },
      );
      const trace = readFileSync(log, 'utf8');
      expect(trace).toContain('(INJECTED)');
      expect({ code: run.code, report: JSON.parse(run.stdout.trim()) }).toEqual({ code: 0, report: { ok: true } });
      expect(readFileSync(target, 'utf8')).toBe('new');
      expect(names(dir)).toEqual([BASE]);
    },
  );
});

function faultTable(): string {
  const lines = [
    '# Injected faults × write paths',
    '',
    'Generated by `npm run faults:table` (`__test__/faults.spec.ts`). Each cell is one child process',
    'calling the public API while an LD_PRELOAD shim fails one system call (the first call of that',
    'kind on that file). ✓ means: the call failed with that code (the failing syscall in brackets),',
    'the target is byte-identical (or absent, for createExclusive) — or, for the directory fsync,',
    'the error says `committed: true` and the new content is in place — no temp file is left,',
    'no descriptor leaked (counted in /proc/self/fd before and after), and no temp file was',
    'renamed after the fault.',
    '',
  ];
  for (const impl of IMPLEMENTATIONS) {
    lines.push(`## ${impl}`, '', `| fault | ${PATHS.join(' | ')} |`, `| --- | ${PATHS.map(() => '---').join(' | ')} |`);
    for (const fault of FAULTS) {
      const cells = PATHS.map((path) => table.get(key(fault, impl, path))?.text ?? 'not run');
      lines.push(`| ${fault.label} (durability ${fault.durability}) | ${cells.join(' | ')} |`);
    }
    lines.push('');
  }
  return lines.join('\n');
}
