// EventLog group commit at durability 'data': concurrent appends in one process share
// flushes. Seen from the outside with strace: the fdatasync calls of 100 concurrent
// appends are counted, and the trace's order shows that no append was acknowledged
// before a flush that started after its record's write had finished (appends of one object
// may share one write: every record in it counts as written when it ends).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runStraced, STRACE_MISSING } from './helpers/faults';
import { IMPLEMENTATIONS } from './helpers/impls';
import { ROOT } from './helpers/spawn';
import { tempDir } from './helpers/tmp';

const APPENDS = 100;

/** 100 concurrent appends; each, once acknowledged, prints `ack SEQ` and reads its record back (or reports its error code). */
function appendScript(impl: string, path: string): string {
  const entry = join(ROOT, 'dist', impl === 'js' ? 'js.js' : 'native.js');
  return `
    const { writeSync } = require('node:fs');
    const { EventLog } = require(${JSON.stringify(entry)});
    const log = new EventLog(${JSON.stringify(path)}, { durability: 'data' });
    const one = async (i) => {
      let seq;
      try {
        ({ seq } = await log.append({ i }));
      } catch (err) {
        return { i, error: err.code };
      }
      writeSync(1, 'ack ' + seq + '\\n');
      for await (const e of log.read({ from: seq })) return { seq, i, found: e.seq === seq && e.data.i === i };
      return { seq, i, found: false };
    };
    Promise.all(Array.from({ length: ${APPENDS} }, (_, i) => one(i))).then((acks) => writeSync(1, 'result ' + JSON.stringify(acks) + '\\n'));
  `;
}

/** `\\x41\\x42` (strace -xx) -> bytes. */
function unhex(text: string): Buffer {
  return Buffer.from(text.replace(/\\x/g, ''), 'hex');
}

interface Trace {
  /** Line indexes where each flush started and ended, and whether it succeeded. */
  flushes: { start: number; end: number; ok: boolean }[];
  /** seq -> line index where the write of its record finished. */
  written: Map<number, number>;
  /** seq -> line index where its `ack` was printed. */
  acked: Map<number, number>;
}

/** The seqs of the records one write holds (appends of one object may share a write). */
function recordSeqs(bytes: Buffer): number[] {
  const seqs: number[] = [];
  for (let at = 0; at + 20 <= bytes.length && bytes.toString('latin1', at, at + 4) === 'CFE1'; at += 20 + bytes.readUInt32LE(at + 4)) {
    seqs.push(Number(bytes.readBigUInt64LE(at + 8)));
  }
  return seqs;
}

/** Reads a `strace -f -xx` trace of write/fdatasync/fsync, following calls split by other threads. */
function parseTrace(lines: string[]): Trace {
  const trace: Trace = { flushes: [], written: new Map(), acked: new Map() };
  const pending = new Map<string, { kind: 'flush'; start: number } | { kind: 'write'; seqs: number[] }>();
  const wrote = (bytes: Buffer, at: number) => {
    for (const seq of recordSeqs(bytes)) trace.written.set(seq, at);
    const ack = /^ack (\d+)\n$/.exec(bytes.toString('latin1'));
    if (ack) trace.acked.set(Number(ack[1]), at);
  };
  lines.forEach((line, at) => {
    // strace pads the pid column to five characters: a pid of four digits is followed by two spaces.
    const [, pid, call = ''] = /^(\d+)\s+(.*)$/.exec(line) ?? [];
    const resumed = /^<\.\.\. (\w+) resumed>/.exec(call);
    if (resumed) {
      const was = pending.get(pid!);
      pending.delete(pid!);
      if (was?.kind === 'flush') trace.flushes.push({ start: was.start, end: at, ok: / = 0$/.test(call) });
      else if (was?.kind === 'write') for (const seq of was.seqs) trace.written.set(seq, at);
      return;
    }
    const unfinished = call.endsWith('<unfinished ...>');
    if (/^f(data)?sync\(/.test(call)) {
      if (unfinished) pending.set(pid!, { kind: 'flush', start: at });
      else trace.flushes.push({ start: at, end: at, ok: / = 0$/.test(call) });
      return;
    }
    const write = /^write\(\d+, "((?:\\x[0-9a-f]{2})*)"/.exec(call);
    if (!write) return;
    const bytes = unhex(write[1]!);
    if (!unfinished) {
      wrote(bytes, at);
      return;
    }
    const seqs = recordSeqs(bytes);
    pending.set(pid!, { kind: 'write', seqs });
    if (seqs.length === 0) wrote(bytes, at); // an ack: printed once it starts is late enough to count as sooner
  });
  return trace;
}

type Result = { seq: number; i: number; found: boolean } | { i: number; error: string };

function results(stdout: string): Result[] {
  return JSON.parse(/^result (.*)$/m.exec(stdout)![1]!) as Result[];
}

/** Acks that were not preceded by a successful flush that started after their record's write ended. */
function ackedUnflushed(trace: Trace): number[] {
  return [...trace.acked]
    .filter(([seq, ackAt]) => !trace.flushes.some((f) => f.ok && f.start > trace.written.get(seq)! && f.end < ackAt))
    .map(([seq]) => seq);
}

describe.skipIf(STRACE_MISSING)('EventLog group commit (durability data)', () => {
  for (const impl of IMPLEMENTATIONS) {
    it(`${impl}: 100 concurrent appends in one process share flushes; none is acknowledged before its record is flushed`, () => {
      const dir = tempDir();
      const path = join(dir, 'events.log');
      const traceFile = join(dir, 'trace');
      const run = runStraced(
        ['-f', '--seccomp-bpf', '-qq', '-o', traceFile, '-s', '65536', '-xx', '-e', 'trace=write,fdatasync,fsync'],
        appendScript(impl, path),
      );
      expect(run.code, run.trace.join('\n')).toBe(0);
      const all = results(run.stdout);
      expect(all.filter((r) => 'error' in r)).toEqual([]);
      const acks = all as Extract<Result, { found: boolean }>[];
      // Every acknowledged append is there when its promise resolves, at its own seq.
      expect(acks.filter((a) => !a.found)).toEqual([]);
      expect(new Set(acks.map((a) => a.seq))).toEqual(new Set(Array.from({ length: APPENDS }, (_, k) => k + 1)));

      const trace = parseTrace(readFileSync(traceFile, 'utf8').trimEnd().split('\n'));
      expect(trace.written.size).toBe(APPENDS);
      expect(trace.acked.size).toBe(APPENDS);
      // Far fewer flushes than appends: they were shared.
      expect(trace.flushes.length).toBeLessThanOrEqual(APPENDS / 5);
      // No ack before a flush that started after its record was written had ended.
      expect(ackedUnflushed(trace)).toEqual([]);
    });

    it(`${impl}: a failed shared flush (EIO injected) rejects every append it covered; none is acknowledged unflushed`, () => {
      const dir = tempDir();
      const path = join(dir, 'events.log');
      const traceFile = join(dir, 'trace');
      const inject = ['-e', 'inject=fdatasync:error=EIO:when=1'];
      const run = runStraced(
        ['-f', '--seccomp-bpf', '-qq', '-o', traceFile, '-s', '65536', '-xx', '-e', 'trace=write,fdatasync,fsync', ...inject],
        appendScript(impl, path),
      );
      expect(run.code, run.trace.join('\n')).toBe(0);
      const all = results(run.stdout);
      const failed = all.filter((r) => 'error' in r);
      expect(failed.length).toBeGreaterThan(0);
      expect(new Set(failed.map((r) => (r as { error: string }).error))).toEqual(new Set(['EIO']));
      const trace = parseTrace(readFileSync(traceFile, 'utf8').trimEnd().split('\n'));
      expect(trace.flushes.some((f) => !f.ok)).toBe(true);
      // Whatever was acknowledged had a successful flush after its write; the rest failed.
      expect(ackedUnflushed(trace)).toEqual([]);
      // And no flush that failed had covered it: a retried fdatasync after EIO may report
      // success for data the kernel already dropped.
      const failedFirst = [...trace.acked].filter(([seq, ackAt]) =>
        trace.flushes.some((f) => !f.ok && f.start > trace.written.get(seq)! && f.end < ackAt),
      );
      expect(failedFirst.map(([seq]) => seq)).toEqual([]);
      expect(trace.acked.size + failed.length).toBe(APPENDS);
    });
  }
});
