import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runNode } from './helpers/spawn';

const ROOT = join(__dirname, '..');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

describe('the CFS_FALLBACK warning', () => {
  it('names the platform package and version to install, and --omit=optional as the likely cause', () => {
    const run = runNode(
      `process.on('warning', (w) => { if (w.code === 'CFS_FALLBACK') console.log(w.message); }); require('concurrent-fs');`,
      { CONCURRENT_FS_IMPL: undefined, CONCURRENT_FS_NATIVE_LIBRARY_PATH: '/nonexistent/concurrent-fs.node' },
    );
    expect(run.stdout).toContain(`npm install @concurrent-fs/binding-${process.platform}-${process.arch}`);
    expect(run.stdout).toContain(`@${VERSION} `);
    expect(run.stdout).toContain('--omit=optional');
  });
});
