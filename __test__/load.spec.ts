// The native loader: which C library it sees, and which binary names it tries.
import { describe, expect, it } from 'vitest';

const { libcFromMaps, platformNames } = require('../dist/native/load.js') as typeof import('../ts/native/load');

describe('native loader', () => {
  it('reads the C library from a process memory map', () => {
    const line = (path: string) => `7f41f7e1e000-7f41f7e44000 r--p 00000000 fe:00 326279                     ${path}\n`;
    // Alpine (musl's loader is its libc), Debian 12, Debian 11 (versioned file name), nix.
    expect(libcFromMaps(line('/usr/bin/node') + line('/lib/ld-musl-x86_64.so.1'))).toBe('musl');
    expect(libcFromMaps(line('/usr/lib/x86_64-linux-gnu/libc.so.6'))).toBe('gnu');
    expect(libcFromMaps(line('/lib/x86_64-linux-gnu/libc-2.31.so'))).toBe('gnu');
    expect(libcFromMaps(line('/nix/store/abc-glibc-2.40-66/lib/libc.so.6'))).toBe('gnu');
    expect(libcFromMaps(line('/usr/bin/node'))).toBeUndefined();
    expect(libcFromMaps('')).toBeUndefined();
  });

  it.runIf(process.platform === 'linux' && process.arch === 'x64')("agrees with Node's own report on glibc vs musl", () => {
    // An independent (and slower) oracle: Node reports the glibc it runs on, if any.
    const report = process.report as NodeJS.ProcessReport & { excludeNetwork?: boolean };
    report.excludeNetwork = true;
    const glibc = (report.getReport() as { header: { glibcVersionRuntime?: string } }).header.glibcVersionRuntime;
    expect(platformNames()).toEqual([glibc ? 'linux-x64-gnu' : 'linux-x64-musl']);
  });
});
