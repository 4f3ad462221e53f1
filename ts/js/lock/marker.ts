// What a lock file says, and when it no longer counts.
//
// A marker is one line of JSON: the owner (see owner.ts), a random token that tells
// this hold from any other hold by the same process, and whether it was asked for as
// shared (informational: the fallback treats shared as exclusive).
import { randomBytes } from 'node:crypto';
import type { Snapshot } from './marker-file';
import { isOwnerGone, type Owner, selfOwner } from './owner';

export interface Marker extends Owner {
  token: string;
  shared: boolean;
}

/**
 * Markers are published whole (marker-file.ts), so an empty or unreadable one is either
 * not ours or was torn by a power loss before its data reached the disk. Give a file
 * that some other tool may still be writing a moment before treating it as stale.
 */
export const UNREADABLE_STALE_AFTER_MS = 2000;

export function newMarker(shared: boolean): string {
  const marker: Marker = { ...selfOwner(), token: randomBytes(8).toString('hex'), shared };
  return `${JSON.stringify(marker)}\n`;
}

export function parseMarker(content: string): Marker | undefined {
  let value: unknown;
  try {
    value = JSON.parse(content);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const m = value as Record<string, unknown>;
  // A pid of 0 or below would make `kill(pid, 0)` probe a process group.
  const validPid = typeof m.pid === 'number' && Number.isSafeInteger(m.pid) && m.pid > 0;
  const valid = validPid && typeof m.host === 'string' && typeof m.start === 'string' && typeof m.token === 'string';
  if (!valid) return undefined;
  return {
    pid: m.pid as number,
    host: m.host as string,
    start: m.start as string,
    boot: typeof m.boot === 'string' ? m.boot : undefined,
    pidNs: typeof m.pidNs === 'string' ? m.pidNs : undefined,
    token: m.token as string,
    shared: m.shared === true,
  };
}

export function ageMs(snapshot: Snapshot): number {
  return Date.now() - snapshot.mtimeMs;
}

/** True when the lock this marker stands for is provably no longer held. */
export function isStale(snapshot: Snapshot): boolean {
  const marker = parseMarker(snapshot.content);
  if (marker === undefined) return ageMs(snapshot) > UNREADABLE_STALE_AFTER_MS;
  return isOwnerGone(marker);
}
