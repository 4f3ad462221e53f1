// `cloneFile`: a file copied into place atomically, reflinked where the filesystem can.
// Internal, not exported from the package (the public contract does not grow): the
// workspaces' `include` copies call it with the backend in use.
import type { Backend, CopyMethod } from './backend';
import { toDurability, toOptions, toPath } from './validate';

/**
 * Replaces `dest` with a copy of `src` (see `Backend.cloneFile`); the arguments are
 * checked before any file is touched. `durability` defaults to `'full'`, as for every
 * atomic write.
 */
export async function cloneFile(backend: Backend, src: unknown, dest: unknown, options?: unknown): Promise<CopyMethod> {
  const from = toPath(src, 'src');
  const to = toPath(dest, 'dest');
  const durability = toDurability(toOptions(options).durability);
  return backend.cloneFile(from, to, durability);
}
