// The new file's permission bits and owner, set on the temp file *before* it is flushed,
// so a crash never leaves the new content with the wrong mode (fchmod after fsync may
// not survive a power loss).
//
// - `mode` given: exactly those bits (fchmod is not masked by the umask).
// - else an existing file's bits are kept;
// - else the temp keeps what `open(..., 0o666)` gave it: 0o666 & ~umask.
// - An existing file's owner is kept where we are allowed to (root, or a group we are in).
import * as fs from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { hasCode } from '../fs-error';
import type { Existing } from './target';

interface Plan {
  mode: number | undefined;
  owner: { uid: number; gid: number } | undefined;
  /** fchown clears set-user-ID and set-group-ID bits: set the kept bits again after it. */
  modeAfterOwner: number | undefined;
}

function plan(existing: Existing | undefined, mode: number | undefined): Plan {
  const euid = process.geteuid?.();
  const egid = process.getegid?.();
  // No geteuid: Windows, where uid/gid are meaningless.
  const ownerDiffers = existing !== undefined && euid !== undefined && (existing.uid !== euid || existing.gid !== egid);
  const owner = ownerDiffers ? { uid: existing.uid, gid: existing.gid } : undefined;
  const restoreSpecialBits = owner !== undefined && mode === undefined && ((existing?.mode ?? 0) & 0o6000) !== 0;
  return { mode: mode ?? existing?.mode, owner, modeAfterOwner: restoreSpecialBits ? existing?.mode : undefined };
}

/** An unprivileged writer cannot give the file away; that must not fail the write. */
function ignoreRefusedChown(err: unknown): void {
  if (!hasCode(err, 'EPERM', 'EINVAL')) throw err;
}

export function applyPermissionsSync(fd: number, existing: Existing | undefined, mode: number | undefined): void {
  const { mode: bits, owner, modeAfterOwner } = plan(existing, mode);
  if (bits !== undefined) fs.fchmodSync(fd, bits);
  if (owner === undefined) return;
  try {
    fs.fchownSync(fd, owner.uid, owner.gid);
  } catch (err) {
    ignoreRefusedChown(err);
  }
  if (modeAfterOwner !== undefined) fs.fchmodSync(fd, modeAfterOwner);
}

export async function applyPermissions(file: FileHandle, existing: Existing | undefined, mode: number | undefined): Promise<void> {
  const { mode: bits, owner, modeAfterOwner } = plan(existing, mode);
  if (bits !== undefined) await file.chmod(bits);
  if (owner === undefined) return;
  await file.chown(owner.uid, owner.gid).catch(ignoreRefusedChown);
  if (modeAfterOwner !== undefined) await file.chmod(modeAfterOwner);
}
