// Content versions in pure JS: SHA-256, cut to the 32 hex digits the native XXH3-128
// versions have. (The two implementations' versions differ; each only ever compares
// versions it computed itself.)
import { createHash } from 'node:crypto';

export function contentVersion(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex').slice(0, 32);
}
