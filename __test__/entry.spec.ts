import { describe, expect, it } from 'vitest';
import { runNode } from './helpers/spawn';

const REPORT = `
  const warnings = [];
  process.on('warning', (w) => warnings.push(w.code));
  const m = require(process.env.ENTRY);
  setImmediate(() => console.log(JSON.stringify({ implementation: m.implementation, warnings, names: Object.keys(m).sort() })));
`;

function load(entry: string, env: Record<string, string | undefined> = {}) {
  const run = runNode(REPORT, { ENTRY: entry, CONCURRENT_FS_IMPL: undefined, ...env });
  expect(run.stderr.replace(/\(node:\d+\) .*\n|\(Use `node --trace-warnings.*\n/g, '')).toBe('');
  return JSON.parse(run.stdout) as { implementation: string; warnings: string[]; names: string[] };
}

describe('entry points', () => {
  it('the default entry is native when the addon loads, with no warning', () => {
    expect(load('concurrent-fs')).toMatchObject({ implementation: 'native', warnings: [] });
  });

  it('concurrent-fs/native and concurrent-fs/js pick their implementation', () => {
    expect(load('concurrent-fs/native').implementation).toBe('native');
    expect(load('concurrent-fs/js').implementation).toBe('js');
  });

  it('CONCURRENT_FS_IMPL=js selects the fallback silently, and does not change /native', () => {
    expect(load('concurrent-fs', { CONCURRENT_FS_IMPL: 'js' })).toMatchObject({ implementation: 'js', warnings: [] });
    expect(load('concurrent-fs/native', { CONCURRENT_FS_IMPL: 'js' }).implementation).toBe('native');
  });

  it('falls back with one CFS_FALLBACK warning when the addon cannot load', () => {
    const env = { CONCURRENT_FS_NATIVE_LIBRARY_PATH: '/nonexistent/concurrent-fs.node' };
    expect(load('concurrent-fs', env)).toMatchObject({ implementation: 'js', warnings: ['CFS_FALLBACK'] });
  });

  it('concurrent-fs/native throws a clear error when the addon cannot load', () => {
    const run = runNode("require('concurrent-fs/native')", { CONCURRENT_FS_NATIVE_LIBRARY_PATH: '/nonexistent/x.node' });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('cannot load the concurrent-fs native addon');
  });

  it('all three entries export the same names', () => {
    const names = load('concurrent-fs').names;
    expect(load('concurrent-fs/native').names).toEqual(names);
    expect(load('concurrent-fs/js').names).toEqual(names);
  });

  it('works from ESM with named imports', () => {
    const run = runNode(
      `import('concurrent-fs').then((m) => import('concurrent-fs/js').then((j) => console.log(m.implementation, j.implementation, typeof m.FileLock)))`,
    );
    expect(run.stdout.trim()).toBe('native js function');
  });
});
