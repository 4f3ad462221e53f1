// @ts-check
// A scratch directory for one measurement: created under the bench directory, removed
// afterwards whatever happens, so a failed run leaves nothing behind.
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Runs `fn` with a fresh directory `<base>/<prefix>XXXXXX`, removed when it settles.
 * @template T
 * @param {string} base
 * @param {string} prefix
 * @param {(dir: string) => Promise<T>} fn
 * @returns {Promise<T>}
 */
export async function inScratchDir(base, prefix, fn) {
  const dir = mkdtempSync(join(base, prefix));
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
