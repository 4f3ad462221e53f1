// An application bundled with esbuild and deployed on its own (no node_modules, no
// package.json of ours beside it) must load the native addon, or fail loudly: a silent
// fall back to the JS locks would not see a native holder's locks on other platforms.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/spawn';
import { tempDir } from './helpers/tmp';

const APP = `
const warnings = [];
process.on('warning', (w) => warnings.push(w.code));
const cfs = require('concurrent-fs');
const lock = new cfs.FileLock(process.argv[2]);
const acquired = lock.tryAcquire();
if (acquired) lock.release();
setImmediate(() => console.log(JSON.stringify({ implementation: cfs.implementation, acquired, warnings })));
`;

/** Bundles APP as a user would: the package imported by name from its node_modules. */
async function bundleApp(dir: string): Promise<string> {
  const src = join(dir, 'src');
  mkdirSync(join(src, 'node_modules'), { recursive: true });
  symlinkSync(ROOT, join(src, 'node_modules', 'concurrent-fs'));
  writeFileSync(join(src, 'app.js'), APP);
  const out = join(dir, 'out');
  await build({
    entryPoints: [join(src, 'app.js')],
    bundle: true,
    platform: 'node',
    outdir: out,
    loader: { '.node': 'copy' },
    logLevel: 'silent',
  });
  return out;
}

describe('an esbuild bundle deployed outside node_modules', () => {
  it('loads the native addon (no CFS_FALLBACK) and sees a lock another process holds', async () => {
    const dir = tempDir('bundle');
    const out = await bundleApp(dir);
    expect(readdirSync(out).some((name) => name.endsWith('.node'))).toBe(true);
    const deployed = join(dir, 'deployed');
    cpSync(out, deployed, { recursive: true });

    const lockPath = join(dir, 'held.lock');
    const holder = spawnSync('flock', ['-n', lockPath, process.execPath, join(deployed, 'app.js'), lockPath], {
      cwd: deployed,
      encoding: 'utf8',
      env: { ...process.env, CONCURRENT_FS_IMPL: undefined },
    });
    expect(holder.stderr).toBe('');
    expect(JSON.parse(holder.stdout)).toEqual({ implementation: 'native', acquired: false, warnings: [] });
  });

  it('the same bundle takes the lock when nobody holds it', async () => {
    const dir = tempDir('bundle');
    const out = await bundleApp(dir);
    const lockPath = join(dir, 'free.lock');
    const run = spawnSync(process.execPath, [join(out, 'app.js'), lockPath], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, CONCURRENT_FS_IMPL: undefined },
    });
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({ implementation: 'native', acquired: true, warnings: [] });
  });
});
