// Importing the package asks the OS for nothing it does not need yet: Deno without
// --allow-sys throws on os.hostname(), so a call at import would make every user grant it.
import { describe, expect, it } from 'vitest';
import { runNode } from './helpers/spawn';

const NO_HOSTNAME = `
  const os = require('node:os');
  let calls = 0;
  os.hostname = () => { calls++; throw new Error('hostname() called'); };
  for (const entry of ['concurrent-fs', 'concurrent-fs/js', 'concurrent-fs/native']) require(entry);
  console.log(JSON.stringify({ calls }));
`;

describe('import', () => {
  it('does not call os.hostname() (every entry point)', () => {
    const run = runNode(NO_HOSTNAME, { CONCURRENT_FS_IMPL: undefined });
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({ calls: 0 });
  });

  it('a fallback lock still names this host in its marker (the identity is computed on first use)', () => {
    const run = runNode(
      `const os = require('node:os'); const host = os.hostname();
       const { FileLock } = require('concurrent-fs/js');
       const { mkdtempSync, readFileSync, readdirSync } = require('node:fs'); const { join } = require('node:path');
       const dir = mkdtempSync(join(os.tmpdir(), 'cfs-host-'));
       const lock = new FileLock(join(dir, 'a.lock')); lock.acquireSync();
       const marker = readdirSync(dir).find((f) => f.endsWith('.js-holder'));
       const owner = JSON.parse(readFileSync(join(dir, marker), 'utf8'));
       console.log(JSON.stringify({ same: owner.host === host, pid: owner.pid === process.pid }));`,
    );
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({ same: true, pid: true });
  });
});
