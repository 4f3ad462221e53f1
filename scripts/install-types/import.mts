// Type-checked by scripts/test-install.mjs in a consumer project: ESM under node16 (as
// import.mts), and as import.ts under the bundler and node10 resolutions.
import { atomicWrite, atomicWriteSync, FileLock, implementation, Snowflake, withLock } from 'concurrent-fs';
import * as js from 'concurrent-fs/js';
import * as native from 'concurrent-fs/native';

export const which: 'native' | 'js' = implementation;
export const written: Promise<void> = atomicWrite('file.json', '{}', { durability: 'full' });
export const lock: FileLock = new FileLock('file.json.lock');
export const snowflake: Snowflake = new Snowflake({ workerId: 1 });
export const id: bigint = snowflake.next();
export const locked: Promise<number> = withLock('file.json.lock', () => 1);
export const sameApi: typeof atomicWrite = native.atomicWrite;
export const sameApiToo: typeof atomicWrite = js.atomicWrite;
// @ts-expect-error: a path is a string or a URL
atomicWriteSync(42, 'data');
