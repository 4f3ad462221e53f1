// Temp files live next to their target (a rename across filesystems is a copy, not
// atomic) and have unique names (fixed names collide across processes, lowdb#555).
// The pattern `.<basename>.<12 hex>.tmp` is the native core's, so tools that recognise
// one implementation's leftovers recognise the other's.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Most filesystems cap a name at 255 bytes; keep the temp name under it. */
const MAX_BASENAME_BYTES = 200;

export function tempPathFor(target: string): string {
  return join(dirname(target), `.${truncate(basename(target))}.${randomBytes(6).toString('hex')}.tmp`);
}

function truncate(name: string): string {
  const bytes = Buffer.from(name);
  if (bytes.length <= MAX_BASENAME_BYTES) return name;
  // Cut on a character boundary: decoding a cut multi-byte sequence would add U+FFFD.
  let cut = MAX_BASENAME_BYTES;
  while (cut > 0 && ((bytes[cut] ?? 0) & 0xc0) === 0x80) cut--;
  return bytes.subarray(0, cut).toString();
}

/**
 * Removes a temp file on a path where an error is already on its way (or the work is
 * already done); a second error here would only hide the first.
 */
export function removeQuietly(path: string): void {
  try {
    fs.unlinkSync(path);
  } catch {}
}

export async function removeQuietlyAsync(path: string): Promise<void> {
  await fs.promises.unlink(path).catch(() => undefined);
}

/** Creates a new temp file for `target` (O_EXCL: never someone else's), open for writing. */
export function createTempSync(target: string): { fd: number; path: string } {
  for (;;) {
    const path = tempPathFor(target);
    try {
      // 0o666: the kernel applies the umask, which is what a new file without `mode` gets.
      return { fd: fs.openSync(path, 'wx', 0o666), path };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

export async function createTemp(target: string): Promise<{ file: FileHandle; path: string }> {
  for (;;) {
    const path = tempPathFor(target);
    try {
      return { file: await fs.promises.open(path, 'wx', 0o666), path };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}
