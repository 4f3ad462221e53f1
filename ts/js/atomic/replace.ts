// Putting a finished temp file in its target's place: the one step readers can see.
//
// - Replace: rename(2), atomic on every local filesystem. On Windows, libuv's rename is
//   MoveFileEx(REPLACE_EXISTING), which fails while another process has the target open
//   (a reader, an indexer, an antivirus scan): those failures are transient, so they are
//   retried with jittered backoff up to a deadline.
// - No clobber: link(2) fails with EEXIST atomically if the target exists, and then the
//   temp name is removed. A crash between the two leaves the temp as a second name of
//   the new file; the target is still right.
import * as fs from 'node:fs';
import { hasCode } from '../fs-error';
import { backoffDelays, sleep, sleepSync } from '../poll';
import { removeQuietly, removeQuietlyAsync } from './temp-file';

const WINDOWS_RETRY_MS = 2000;

function retriable(err: unknown): boolean {
  return process.platform === 'win32' && hasCode(err, 'EPERM', 'EACCES', 'EBUSY');
}

export function replaceSync(temp: string, target: string, noClobber: boolean): void {
  if (noClobber) {
    fs.linkSync(temp, target);
    removeQuietly(temp);
    return;
  }
  const deadline = performance.now() + WINDOWS_RETRY_MS;
  for (const delay of backoffDelays()) {
    try {
      fs.renameSync(temp, target);
      return;
    } catch (err) {
      if (!retriable(err) || performance.now() + delay > deadline) throw err;
      sleepSync(delay);
    }
  }
}

export async function replace(temp: string, target: string, noClobber: boolean): Promise<void> {
  if (noClobber) {
    await fs.promises.link(temp, target);
    await removeQuietlyAsync(temp);
    return;
  }
  const deadline = performance.now() + WINDOWS_RETRY_MS;
  for (const delay of backoffDelays()) {
    try {
      await fs.promises.rename(temp, target);
      return;
    } catch (err) {
      if (!retriable(err) || performance.now() + delay > deadline) throw err;
      await sleep(delay, undefined);
    }
  }
}
