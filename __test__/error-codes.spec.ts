// Every errno keeps its own name. The OS can fail a write with errors no table of
// "expected" codes lists (ENOLCK from an NFS lock daemon, EREMOTEIO from a network
// block device ...); each must come out as Node's fs would name it, with a real
// message, never as EIO or "Unknown system error". strace fails the first fsync. The
// write goes through a symlink: the error names the caller's path, not the link's target.
import { readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { getSystemErrorMap } from 'node:util';
import { describe, expect, it } from 'vitest';
import { runStraced, STRACE_MISSING } from './helpers/faults';
import { IMPLEMENTATIONS } from './helpers/impls';
import { names, tempDir } from './helpers/tmp';

const WRITE_AND_REPORT = `
  const cfs = require(process.env.IMPL === 'js' ? 'concurrent-fs/js' : 'concurrent-fs/native');
  try { cfs.atomicWriteSync(process.env.TARGET, 'new'); console.log('{"ok":true}'); }
  catch (err) { console.log(JSON.stringify({ code: err.code, errno: err.errno, syscall: err.syscall, path: err.path, message: err.message })); }
`;

/** Node's errno for a name: libuv's where it has one, else the platform's (negated). */
function errnoOf(code: string): number {
  for (const [errno, [name]] of getSystemErrorMap()) if (name === code) return errno;
  return -(constants.errno as Record<string, number>)[code]!;
}

// EMLINK, ENXIO: libuv knows them; ENOLCK, EDEADLK: Node 20's libuv does not; EREMOTEIO:
// libuv knows it, the platform's list does not. None was in the core's first table.
const CODES = ['EMLINK', 'ENOLCK', 'EDEADLK', 'EREMOTEIO', 'ENXIO'];

describe.skipIf(STRACE_MISSING || process.platform !== 'linux')("errors keep the OS's own code", () => {
  it.each(IMPLEMENTATIONS.flatMap((impl) => CODES.map((code) => ({ impl, code }))))('$impl: $code on fsync', ({ impl, code }) => {
    const dir = tempDir('cfs-errno');
    const target = join(dir, 'data.json');
    const link = join(dir, 'link');
    writeFileSync(target, 'old');
    symlinkSync('data.json', link);
    const run = runStraced(['-qq', '-o', '/dev/null', '-e', 'trace=fsync', '-e', `inject=fsync:error=${code}:when=1`], WRITE_AND_REPORT, {
      IMPL: impl,
      TARGET: link,
    });
    const report = JSON.parse(run.stdout.trim());
    expect(report).toMatchObject({ code, errno: errnoOf(code), syscall: 'fsync', path: link });
    expect(report.message).toMatch(new RegExp(`^${code}: [a-z]`));
    expect(report.message).not.toMatch(/unknown|system error/i);
    expect(report.message.endsWith(`, fsync '${link}'`)).toBe(true);
    expect(readFileSync(target, 'utf8')).toBe('old');
    expect(names(dir)).toEqual(['data.json', 'link']);
  });
});
