// Concurrent atomicWrite calls into one directory share directory flushes (group commit,
// crates/concurrent-fs-core/src/atomic/shared_flush.rs and ts/js/atomic/durability.ts), without
// any call resolving before a flush that started after its own rename: counted with
// strace, and a failed flush must fail every call it was to cover.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FAULT_ENV, STRACE_MISSING } from './helpers/faults';
import { IMPLEMENTATIONS } from './helpers/impls';
import { FIXTURES, runSync, stdoutOf } from './helpers/spawn';
import { tempDir } from './helpers/tmp';

const COUNT = 64;

interface Outcome {
  i: number;
  ok: boolean;
  code?: string;
  committed?: boolean;
  syscall?: string;
}

/** Runs the writes under strace; their outcomes and the number of fsync calls (at 'data', only directories get fsync). */
function writeAll(impl: string, dir: string, strace: string[]): { outcomes: Outcome[]; fsyncs: number } {
  const log = join(dir, '..', `strace-${impl}.log`);
  const wrapper = ['strace', '-f', '-qq', '-o', log, '-e', 'trace=fsync', ...strace];
  const run = runSync([...wrapper, process.execPath, join(FIXTURES, 'concurrent-writes.cjs'), impl, dir, `${COUNT}`, 'data'], {
    env: FAULT_ENV,
  });
  const stdout = stdoutOf(run, 'writer');
  const fsyncs = readFileSync(log, 'utf8')
    .split('\n')
    .filter((line) => /\bfsync\(/.test(line) && !line.includes('resumed')).length;
  return { outcomes: JSON.parse(stdout) as Outcome[], fsyncs };
}

function prepare(): string {
  const dir = join(tempDir('shared-flush'), 'd');
  mkdirSync(dir);
  for (let i = 0; i < COUNT; i++) writeFileSync(join(dir, `f${i}`), `old ${i}`);
  return dir;
}

describe.skipIf(STRACE_MISSING)('concurrent atomicWrite into one directory', () => {
  // How many flushes are shared depends on timing (native: at most one per libuv thread
  // waits on a running flush), so it is reported; a write never needs more than one.
  it.each(IMPLEMENTATIONS)('%s: 64 writes succeed with at most one directory flush each (shared ones reported)', (impl) => {
    const dir = prepare();
    const { outcomes, fsyncs } = writeAll(impl, dir, []);
    console.log(`${impl}: ${COUNT} concurrent atomicWrite('data') into one directory: ${fsyncs} directory fsyncs`);
    expect(outcomes.filter((o) => !o.ok)).toEqual([]);
    for (let i = 0; i < COUNT; i++) expect(readFileSync(join(dir, `f${i}`), 'utf8')).toBe(`new ${i}`);
    expect(fsyncs).toBeGreaterThanOrEqual(1);
    expect(fsyncs).toBeLessThanOrEqual(COUNT);
  });

  it.each(IMPLEMENTATIONS)(
    '%s: when every directory flush fails (EIO), every write rejects as committed: none is told it is durable',
    (impl) => {
      const dir = prepare();
      const { outcomes } = writeAll(impl, dir, ['-e', 'inject=fsync:error=EIO']);
      expect(outcomes).toHaveLength(COUNT);
      expect(outcomes.filter((o) => !(o.ok === false && o.code === 'EIO' && o.committed))).toEqual([]);
      // The renames were done before the flush: every file holds the new content.
      for (let i = 0; i < COUNT; i++) expect(readFileSync(join(dir, `f${i}`), 'utf8')).toBe(`new ${i}`);
    },
  );
});
