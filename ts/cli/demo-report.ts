// The demo's verdict, once every worker has ended: the invariants it checks on the store
// left behind, and the summary table of what was done and how fast.
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { type Counter, IDS_DIR, LOCKED_COUNTER, OPTIMISTIC_COUNTER, type Span, type WorkerReport } from './demo-protocol';
import type { WorkerState } from './demo-workers';
import type { Cfs } from './impl';

export interface Setup {
  workers: number;
  updates: number;
  /** IDs each worker mints. */
  ids: number;
  dir: string;
}

export interface Check {
  ok: boolean;
  text: string;
}

function workerChecks(workers: readonly WorkerState[]): Check[] {
  const failed = workers.filter((w) => w.failure !== undefined);
  if (failed.length === 0) return [{ ok: true, text: `all ${workers.length} workers finished` }];
  return failed.map((w) => ({ ok: false, text: w.failure! }));
}

async function counterCheck(cfs: Cfs, dir: string, name: string, expected: number): Promise<Check> {
  try {
    const found = (await new cfs.ConcurrentFileStore(dir).read<Counter>(name))?.count ?? 0;
    return { ok: found === expected, text: `${name} holds ${found} (expected ${expected})` };
  } catch (err) {
    return { ok: false, text: `${name}: ${(err as Error).message}` };
  }
}

/** Every worker's IDs increase, and no ID appears twice across all of them. */
async function idsCheck(setup: Setup): Promise<Check> {
  const dir = join(setup.dir, IDS_DIR);
  const expected = setup.workers * setup.ids;
  const seen = new Set<string>();
  const problems: string[] = [];
  for (const file of (await readdir(dir)).sort()) {
    const ids = (await readFile(join(dir, file), 'utf8')).split('\n').filter(Boolean);
    for (let i = 0; i < ids.length; i++) seen.add(ids[i]!);
    if (ids.some((id, i) => i > 0 && BigInt(id) <= BigInt(ids[i - 1]!))) problems.push(`${file} does not increase`);
    if (ids.length !== setup.ids) problems.push(`${file} holds ${ids.length}`);
  }
  const total = seen.size;
  return {
    ok: problems.length === 0 && total === expected,
    text: `${total.toLocaleString('en-US')} distinct IDs (expected ${expected.toLocaleString('en-US')}), each worker's increasing${problems.length ? `; but ${problems.join(', ')}` : ''}`,
  };
}

/** Temp files are `.<name>.<random>.tmp`; a finished write never leaves one. */
async function tempFileCheck(dir: string): Promise<Check> {
  const left = (await readdir(dir, { recursive: true })).filter((path) => /^\..*\.tmp$/.test(basename(path)));
  if (left.length === 0) return { ok: true, text: 'no temp file left in the store' };
  return { ok: false, text: `${left.length} temp files left in the store: ${left.join(', ')}` };
}

export async function checkInvariants(cfs: Cfs, setup: Setup, workers: readonly WorkerState[]): Promise<Check[]> {
  const expected = setup.workers * setup.updates;
  return [
    ...workerChecks(workers),
    await counterCheck(cfs, setup.dir, LOCKED_COUNTER, expected),
    await counterCheck(cfs, setup.dir, OPTIMISTIC_COUNTER, expected),
    await idsCheck(setup),
    await tempFileCheck(setup.dir),
  ];
}

/** From the first worker starting a phase to the last one finishing it, in seconds. */
function seconds(spans: readonly Span[]): number {
  if (spans.length === 0) return 0;
  return (Math.max(...spans.map((s) => s.end)) - Math.min(...spans.map((s) => s.start))) / 1000;
}

function row(cells: readonly (string | number)[]): string {
  const widths = [20, 10, 9, 12, 11, 14];
  const text = cells.map((cell, i) => {
    const shown = typeof cell === 'number' ? cell.toLocaleString('en-US') : cell;
    return i === 0 ? shown.padEnd(widths[i]!) : shown.padStart(widths[i]!);
  });
  return `  ${text.join('')}`;
}

function phaseRow(name: string, count: number, spans: readonly Span[], conflicts = '-', maxAttempts = '-'): string {
  const s = seconds(spans);
  return row([name, count, s.toFixed(2), s > 0 ? Math.round(count / s) : '-', conflicts, maxAttempts]);
}

export function formatSummary(setup: Setup, workers: readonly WorkerState[], checks: readonly Check[]): string {
  const reports = workers.map((w) => w.report).filter((r): r is WorkerReport => r !== undefined);
  const conflicts = reports.reduce((sum, r) => sum + r.optimistic.conflicts, 0);
  const maxAttempts = Math.max(0, ...reports.map((r) => r.optimistic.maxAttempts));
  const lines = [
    row(['', 'count', 'seconds', 'per second', 'conflicts', 'max attempts']),
    phaseRow(
      'locked updates',
      reports.length * setup.updates,
      reports.map((r) => r.locked),
    ),
    phaseRow(
      'optimistic updates',
      reports.length * setup.updates,
      reports.map((r) => r.optimistic),
      String(conflicts),
      String(maxAttempts),
    ),
    phaseRow(
      'IDs minted',
      reports.length * setup.ids,
      reports.map((r) => r.ids),
    ),
    '',
    ...checks.map((c) => `  ${c.ok ? 'ok  ' : 'FAIL'}  ${c.text}`),
    '',
    checks.every((c) => c.ok) ? 'All checks passed.' : `${checks.filter((c) => !c.ok).length} of ${checks.length} checks FAILED.`,
  ];
  if (reports.length < workers.length) lines.splice(4, 0, `  (rates of the ${reports.length} workers that finished)`);
  return `\n${lines.join('\n')}\n`;
}
