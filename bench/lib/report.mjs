// @ts-check
// Tables for the console and for the README, from one run's results.
import { readFileSync, writeFileSync } from 'node:fs';
import { fmtRate } from './measure.mjs';

/**
 * @typedef {import('./types.d.mts').Results} Results
 * @typedef {import('./types.d.mts').Target} Target
 * @typedef {import('./types.d.mts').Run} Run
 * @typedef {Record<string, string>} TableRow one row of a table: column -> cell
 * @typedef {{ title: string, rows: TableRow[] }} Table
 */

const fmtCount = (/** @type {number} */ n) => n.toLocaleString('en-US');

export const START = '<!-- bench:start -->';
export const END = '<!-- bench:end -->';

/** @returns {Table} */
function idTable(/** @type {import('./types.d.mts').IdRow[]} */ ids) {
  return {
    title: 'IDs (per ID)',
    rows: ids.map((r) => ({
      generator: r.name,
      'IDs/s': fmtRate(r.rate),
      [`duplicates in a ${fmtRate(r.burst.ids + r.burst.throws)}-call burst`]: r.burst.throws
        ? `${fmtCount(r.burst.duplicates)} (${fmtCount(r.burst.throws)} calls threw)`
        : fmtCount(r.burst.duplicates),
      'burst IDs/s (kept in an array)': fmtRate(r.burst.rate),
    })),
  };
}

/** One row per writer, one column per size and mode. @returns {Table} */
function writeTable(/** @type {import('./types.d.mts').WriteRow[]} */ writes) {
  /** @type {Map<string, TableRow>} */
  const byRow = new Map();
  for (const r of writes) {
    const label = r.impl === 'native' || r.impl === 'js' ? `${r.impl}, durability ${r.durability}` : writeLabel(r);
    const row = byRow.get(label) ?? { writer: label };
    byRow.set(label, row);
    row[`${r.size} ${r.mode}`] = fmtRate(r.rate);
  }
  const columns = ['1 KiB sync', '1 KiB async', '1 MiB sync', '1 MiB async'];
  return {
    title: 'Atomic writes (writes/s)',
    rows: [...byRow.values()].map((row) => Object.fromEntries([['writer', row.writer], ...columns.map((c) => [c, row[c] ?? ''])])),
  };
}

/** @returns {Table} */
function lockTable(/** @type {import('./types.d.mts').LockRow[]} */ locks) {
  return {
    title: 'Locks, uncontended (acquire + release cycles/s)',
    rows: locks.map((r) => ({ lock: r.name, mode: r.mode, 'cycles/s': fmtRate(r.rate) })),
  };
}

/** The counter and the store: one process against many on one file. @returns {Table} */
function processTable(/** @type {string} */ title, /** @type {import('./types.d.mts').ProcessRow[]} */ rows) {
  return {
    title,
    rows: rows.map((r) => ({
      loop: r.name,
      durability: r.durability,
      [`1 process x ${r.processes * r.iterations}`]: fmtRate(r.oneProcess),
      [`${r.processes} processes x ${r.iterations}`]: fmtRate(r.manyProcesses),
      [`${r.processes} vs 1`]: `${(100 * r.ratio).toFixed(0)}%`,
      ...(r.cpuMicrosPerOp
        ? {
            [`CPU µs per update, 1 / ${r.processes} processes`]: `${Math.round(r.cpuMicrosPerOp.one)} / ${Math.round(r.cpuMicrosPerOp.many)}`,
          }
        : {}),
    })),
  };
}

/** @returns {Table} */
function taskTable(/** @type {import('./types.d.mts').TaskRow[]} */ tasks) {
  return {
    title: `Task queue, claim + complete (tasks/s; each run drains ${fmtCount(tasks[0]?.tasks ?? 0)} tasks and checks each was claimed once)`,
    rows: tasks.map((r) => ({
      workers: r.mode === 'processes' ? `${r.workers} process${r.workers === 1 ? '' : 'es'}` : `${r.workers} loops in 1 process`,
      'tasks/s': fmtRate(r.rate),
      'tasks/s with process start': r.mode === 'processes' ? fmtRate(r.rateWithStart) : '',
      'claim p50 ms': r.claimP50.toFixed(2),
      'claim p99 ms': r.claimP99.toFixed(2),
      'double claims': fmtCount(r.doubleClaims),
      'CPU µs per task': fmtRate(r.cpuMicrosPerTask),
    })),
  };
}

/** The append table, and the tail latency's when the run has it. @returns {Table[]} */
function eventTables(/** @type {NonNullable<Results['events']>} */ events) {
  const appends = events.filter((r) => r.kind !== 'tail');
  /** @type {Table[]} */
  const tables = [
    {
      title: 'Event log (appends/s; every append run reads the log back: each append once, seq contiguous)',
      rows: appends.map((r) => ({
        appender:
          r.kind === 'raw' ? `plain file: write + ${r.durability === 'full' ? 'fsync' : 'fdatasync'} per record` : 'EventLog.append',
        durability: r.durability,
        processes: `${r.processes} x ${fmtCount(r.count)}`,
        'in flight per process': String(r.inflight),
        'appends/s': fmtRate(r.rate),
        'append p50 ms': r.kind === 'raw' ? '' : r.appendP50.toFixed(3),
        'append p99 ms': r.kind === 'raw' ? '' : r.appendP99.toFixed(3),
        'CPU µs per append': fmtRate(r.cpuMicrosPerAppend),
      })),
    },
  ];
  const tail = events.find((r) => r.kind === 'tail');
  if (tail) {
    tables.push({
      title: 'Event log tail latency (append call in one process to a tail in another seeing it)',
      rows: [
        {
          run: `${tail.count} appends ${tail.paceMs} ms apart, durability ${tail.durability}`,
          'p50 ms': tail.tailP50.toFixed(2),
          'p99 ms': tail.tailP99.toFixed(2),
        },
      ],
    });
  }
  return tables;
}

/** @returns {Table} */
function memoryTable(/** @type {import('./types.d.mts').MemoryRow[]} */ memory) {
  return {
    title: 'Memory (RSS after a full GC, V8 young generation pinned at 1 MiB semi-spaces; see bench/README.md)',
    rows: memory.map((m) => ({
      probe: `${m.name} x ${fmtRate(m.ops)}`,
      'RSS start MiB': m.rssStartMiB.toFixed(1),
      'RSS end MiB': m.rssEndMiB.toFixed(1),
      'growth MiB': m.rssGrowthMiB.toFixed(1),
      'end minus 1st-half max MiB': m.rssEndOverFirstHalfMaxMiB.toFixed(1),
      'heap growth MiB': m.heapGrowthMiB.toFixed(2),
    })),
  };
}

/** Rows of plain objects, as the console and markdown tables both take them. @returns {Table[]} */
export function sectionTables(/** @type {Results} */ results) {
  const { ids, writes, locks, counter, store, tasks, events, memory } = results;
  return [
    ...(ids ? [idTable(ids)] : []),
    ...(writes ? [writeTable(writes)] : []),
    ...(locks ? [lockTable(locks)] : []),
    ...(counter
      ? [processTable('Locked JSON counter, read-increment-write (increments/s; every run checks the final count)', counter)]
      : []),
    ...(store ? [processTable('Store (updates/s; every run checks the final count)', store)] : []),
    ...(tasks ? [taskTable(tasks)] : []),
    ...(events ? eventTables(events) : []),
    ...(memory ? [memoryTable(memory)] : []),
  ];
}

/** The label of a row of the write table for a peer, a baseline or the disk. */
function writeLabel(/** @type {import('./types.d.mts').WriteRow} */ r) {
  if (r.api === 'raw-fsync') return 'raw pwrite 1 KiB + fsync, one fd (the disk)';
  if (r.api === 'hand-written' && r.durability === 'none') return 'hand-written plain fs, no fsync (tmp, write, rename)';
  if (r.api === 'hand-written') return 'hand-written plain fs (tmp, fsync, rename, dir fsync)';
  return `${r.api}, ${r.durability}`;
}

/** @returns {TableRow[]} */
export function targetRows(/** @type {Target[]} */ targets) {
  return targets.map((t) => ({
    path: t.path,
    target: t.target,
    measured: t.measured,
    result: t.met ? 'met' : 'not met',
    ...(t.why ? { why: t.why } : {}),
  }));
}

export function printTables(/** @type {Results} */ results, /** @type {Target[]} */ targets) {
  for (const table of sectionTables(results)) {
    console.log(`\n${table.title}`);
    console.table(table.rows);
  }
  if (targets.length) {
    console.log('\nTargets (issues 6 and 13)');
    for (const t of targets) {
      console.log(
        `- ${t.met ? 'MET    ' : 'NOT MET'} ${t.path}: ${t.target}\n          ${t.measured}${t.why ? `\n          why: ${t.why}` : ''}`,
      );
    }
  }
}

const cell = (/** @type {unknown} */ value) => String(value).replaceAll('|', '\\|').replaceAll('\n', ' ');

/** Columns of figures are right-aligned, columns of words left-aligned. */
const isFigure = (/** @type {unknown} */ value) => value === '' || /^[-+]?[\d,.]+( \(|%|x|$)/.test(String(value));

function markdownTable(/** @type {TableRow[]} */ rows) {
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const align = columns.map((c, i) => (i > 0 && rows.every((r) => isFigure(r[c] ?? '')) ? '---:' : '---'));
  const lines = [`| ${columns.map(cell).join(' | ')} |`, `|${align.join('|')}|`];
  for (const row of rows) lines.push(`| ${columns.map((c) => cell(row[c] ?? '')).join(' | ')} |`);
  return lines.join('\n');
}

const rounds = (/** @type {{ rounds: number, time?: number | undefined }} */ c) =>
  `${c.rounds} round${c.rounds === 1 ? '' : 's'}${c.time ? ` of ${c.time} ms per task` : ''}`;

export function markdown(/** @type {Run} */ run, /** @type {Results} */ results, /** @type {Target[]} */ targets) {
  const m = run.machine;
  const load = (/** @type {number[]} */ l) => l.map((x) => x.toFixed(2)).join(', ');
  const lines = [
    `Generated by \`npm run bench\` (\`bench/index.mjs\`) on ${m.date.slice(0, 10)}: ${m.cpu}, ${m.cores} cores, ` +
      `${m.memoryGiB} GiB, ${m.os}, Node ${m.node}; files in \`${m.dir}\` on ${m.filesystem.type}` +
      `${m.filesystem.source ? ` (${m.filesystem.source})` : ''}; load average ${load(m.loadAverageAtStart)} at the start, ` +
      `${load(run.loadAverageAtEnd)} at the end (1-minute load as each section started, the bench's own ` +
      `processes included: ` +
      `${run.load.map((l) => `${l.at} ${l.load1.toFixed(2)}`).join(', ')})${m.commit ? `; commit ${m.commit}` : ''}. ` +
      `The run took ${Math.round(run.seconds / 60)} min. Each rate is the best of ${rounds(run.config)} in this one run ` +
      `(writes: ${rounds({ ...run.config, ...run.config.writeTiming })}; processes: ${rounds(run.config.contention)}), ` +
      'since other work on the machine only slows a round down. ' +
      'This VM swings by 20-40% from run to run: compare rows of one table, not numbers from different runs. ' +
      `Raw figures: \`bench/results/latest.json\`${run.reportedAgain ? ` (tables and targets re-rendered from it on ${run.reportedAgain.slice(0, 10)} by \`node bench/index.mjs --from=bench/results/latest.json\`)` : ''}.` +
      remeasuredNote(run),
    '',
  ];
  if (targets.length) {
    lines.push(
      '#### Targets',
      '',
      markdownTable(targetRows(targets).map((t) => ({ ...t, result: t.result === 'met' ? 'met' : '**not met**' }))),
      '',
    );
  }
  for (const table of sectionTables(results)) lines.push(`#### ${table.title}`, '', markdownTable(table.rows), '');
  return lines.join('\n').trimEnd();
}

/** Which sections were measured again in a later run of their own (`--merge`), and when. */
function remeasuredNote(/** @type {Run} */ run) {
  if (!run.remeasured?.length) return '';
  const each = run.remeasured.map(
    (r) =>
      `${r.section} on ${r.date.slice(0, 16).replace('T', ' ')} UTC${r.commit ? ` at commit ${r.commit}` : ''} (1-minute load ${r.load1.toFixed(2)} as it started, ${Math.round(r.seconds)} s)`,
  );
  return ` Measured again later, each in a run of its own and merged in by \`--merge\`: ${each.join('; ')}; compare its rows with each other, not with other sections'.`;
}

/** Replaces what is between the markers in README.md; nothing else in the file changes. */
export function updateReadme(/** @type {URL | string} */ path, /** @type {string} */ content) {
  const text = readFileSync(path, 'utf8');
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  if (start < 0 || end < start) throw new Error(`${path}: markers ${START} ... ${END} not found`);
  writeFileSync(path, `${text.slice(0, start + START.length)}\n${content}\n${text.slice(end)}`);
}
