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
import { poll, pollSync } from '../poll';
import { removeQuietly, removeQuietlyAsync } from './temp-file';

const WINDOWS_RETRY_MS = 2000;

/** The last transient refusal of a rename, thrown once the retries are up. */
interface Refusal {
  error?: unknown;
}

/** A failed rename try: false (try again) when Windows' refusal may pass, else the error. */
function refused(err: unknown, refusal: Refusal): false {
  if (process.platform !== 'win32' || !hasCode(err, 'EPERM', 'EACCES', 'EBUSY')) throw err;
  refusal.error = err;
  return false;
}

export function replaceSync(temp: string, target: string, noClobber: boolean): void {
  if (noClobber) {
    fs.linkSync(temp, target);
    removeQuietly(temp);
    return;
  }
  const refusal: Refusal = {};
  const rename = () => {
    try {
      fs.renameSync(temp, target);
      return true;
    } catch (err) {
      return refused(err, refusal);
    }
  };
  if (!pollSync(rename, WINDOWS_RETRY_MS)) throw refusal.error;
}

export async function replace(temp: string, target: string, noClobber: boolean): Promise<void> {
  if (noClobber) {
    await fs.promises.link(temp, target);
    await removeQuietlyAsync(temp);
    return;
  }
  const refusal: Refusal = {};
  const rename = () =>
    fs.promises.rename(temp, target).then(
      () => true,
      (err: unknown) => refused(err, refusal),
    );
  if (!(await poll(rename, WINDOWS_RETRY_MS, undefined))) throw refusal.error;
}
