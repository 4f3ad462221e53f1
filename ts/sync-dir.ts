// Flushing a directory: what makes a name created, renamed or removed in it survive a
// power cut (a file's own fsync does not). Windows cannot open a directory to flush it,
// and a filesystem that cannot flush one is not an error (as for atomic writes).
import { open } from 'node:fs/promises';

const UNSUPPORTED = new Set(['EINVAL', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EISDIR']);

export async function syncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch (err) {
    if (!UNSUPPORTED.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
  } finally {
    await handle.close();
  }
}
