// High-water marks of leased worker IDs, in plain JavaScript: the same protocol and file
// format as the core's crates/concurrent-fs-core/src/id/mark.rs (read that for the why).
//
// `dir/worker-<id>.hwm` holds a decimal Unix ms (the last millisecond any ID under the
// worker ID may carry) and a newline. While a lease is held it holds a reservation about
// a second ahead of the clock, renewed by the generators before they mint past it; at
// release, the last millisecond actually used. A new holder's generators never mint a
// time unit that starts at or before the mark it found.
//
// The marks are module state, so they bind the generators of this thread only (a worker
// thread has its own copy of this module): see docs/fallback.md.
import { readFileSync } from 'node:fs';
import { systemError } from '../../errors';
import type { HeldMark } from '../../id-backend';
import { atomicWriteSync } from '../atomic/sync';

/** How far ahead of the clock a holder reserves time. */
const RESERVATION_MS = 1000;
/** A reservation is renewed once minting comes this close to its end. */
const RENEW_MARGIN_MS = 500;

interface LeaseMark {
  readonly path: string;
  readonly floor: number | undefined;
  reserved: number;
}

/** The marks of the leases this thread holds on one worker ID (one per lease directory). */
export class WorkerMarks {
  readonly #leases: LeaseMark[] = [];
  /** The latest floor of the held leases (-Infinity: none). */
  floorMs = Number.NEGATIVE_INFINITY;
  /** `cover` has work to do only for IDs ending after this (Infinity: no lease). */
  renewAfterMs = Number.POSITIVE_INFINITY;
  /** The end of the latest time unit any generator on this worker ID minted in. */
  usedMs = Number.NEGATIVE_INFINITY;

  /**
   * Before handing out an ID whose time unit ends at `endMs` (callers skip this while
   * `endMs <= renewAfterMs`): renews every reservation that would not cover it
   * comfortably. If this throws, the ID must not be handed out.
   */
  cover(endMs: number, nowMs: number): void {
    for (const lease of this.#leases) {
      if (endMs > lease.reserved - RENEW_MARGIN_MS) {
        const reserved = Math.max(endMs, Math.floor(nowMs) + RESERVATION_MS);
        writeMark(lease.path, reserved);
        lease.reserved = reserved;
      }
    }
    this.#update();
  }

  hold(path: string, nowMs: number): HeldMark {
    const floor = readMark(path);
    const reserved = Math.max(floor ?? Number.NEGATIVE_INFINITY, Math.floor(nowMs) + RESERVATION_MS);
    writeMark(path, reserved);
    const lease: LeaseMark = { path, floor, reserved };
    this.#leases.push(lease);
    this.#update();
    let held = true;
    return {
      floor,
      release: () => {
        if (held) this.#release(lease);
        held = false;
      },
    };
  }

  #release(lease: LeaseMark): void {
    this.#leases.splice(this.#leases.indexOf(lease), 1);
    this.#update();
    // The last millisecond actually used; a failed write leaves the reservation, which
    // is later than anything used, so the next holder only waits longer.
    const last = Math.max(lease.floor ?? Number.NEGATIVE_INFINITY, this.usedMs);
    if (Number.isFinite(last) && last < lease.reserved) {
      try {
        writeMark(lease.path, last);
      } catch {}
    }
  }

  #update(): void {
    this.floorMs = Math.max(Number.NEGATIVE_INFINITY, ...this.#leases.map((l) => l.floor ?? Number.NEGATIVE_INFINITY));
    this.renewAfterMs = Math.min(Number.POSITIVE_INFINITY, ...this.#leases.map((l) => l.reserved - RENEW_MARGIN_MS));
  }
}

const workers = new Map<number, WorkerMarks>();

/** The marks of `workerId`, shared by every generator and lease on it in this thread. */
export function workerMarks(workerId: number): WorkerMarks {
  let marks = workers.get(workerId);
  if (!marks) {
    marks = new WorkerMarks();
    workers.set(workerId, marks);
  }
  return marks;
}

/** The mark in `path`: undefined if the file is missing or empty (a power loss). */
function readMark(path: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'latin1');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const digits = text.endsWith('\n') ? text.slice(0, -1) : text;
  if (digits === '') return undefined;
  if (!/^[0-9]{1,16}$/.test(digits)) {
    throw systemError({ code: 'EINVAL', syscall: 'read', path, message: `EINVAL: not a high-water mark, read '${path}'` });
  }
  return Number(digits);
}

function writeMark(path: string, ms: number): void {
  atomicWriteSync(path, Buffer.from(`${ms}\n`), { durability: 'none', mode: undefined, noClobber: false });
}
