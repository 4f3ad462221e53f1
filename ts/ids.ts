// The public ID API: Snowflake, UUIDv7 and worker IDs, with argument checks in front of
// an implementation's `ids` backend.
import type { Backend } from './backend';
import { invalidArgType, invalidArgValue } from './errors';
import type { FileLockConstructor } from './lock';
import { createSnowflakeApi, toCount } from './snowflake';
import { toIntegerIn } from './validate';
import { createLeaseApi } from './worker-lease';

const UUIDV7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/** The Unix ms timestamp of a UUIDv7 (its first 48 bits). */
export function uuidv7Timestamp(uuid: string): number {
  if (typeof uuid !== 'string') throw invalidArgType('uuid', 'of type string', uuid);
  if (!UUIDV7.test(uuid)) throw invalidArgValue('uuid', uuid, 'must be a UUIDv7 (RFC 9562 version 7, variant 10)');
  return Number.parseInt(uuid.slice(0, 8) + uuid.slice(9, 13), 16);
}

function toWorkerBits(value: unknown): number {
  if (value === undefined) return 10;
  // 53: the widest ID a JS number holds exactly.
  return toIntegerIn(value, 'bits', 1, 53);
}

export function createIdApi(backend: Backend, deps: { FileLock: FileLockConstructor }) {
  const ids = backend.ids;
  return {
    ...createSnowflakeApi(ids),
    /** A new UUIDv7, greater than every one before it from this process. */
    uuidv7: (): string => ids.uuidv7(),
    /** A new UUIDv7 in binary form (16 bytes), in the same increasing sequence. */
    uuidv7Bytes: (): Uint8Array => ids.uuidv7Bytes(),
    /** `count` increasing UUIDv7 values. */
    uuidv7Batch: (count: number): string[] => ids.uuidv7Batch(toCount(count)),
    uuidv7Timestamp,
    /**
     * A worker ID in [0, 2^bits) hashed from hostname, pid and MAC addresses: stable in
     * this process, no coordination, and so it may collide with another process's (among
     * 38 processes, two share a 10-bit ID with probability 1/2). Prefer `leaseWorkerId`.
     */
    machineWorkerId: (bits?: number): number => ids.machineWorkerId(toWorkerBits(bits)),
    ...createLeaseApi({ ids, FileLock: deps.FileLock }),
  };
}
