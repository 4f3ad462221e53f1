// Type-checked by scripts/test-install.mjs in a consumer project: CommonJS under node16.
import cfs = require('concurrent-fs');
import native = require('concurrent-fs/native');
import js = require('concurrent-fs/js');

export const implementation: 'native' | 'js' = cfs.implementation;
export const written: Promise<void> = cfs.atomicWrite('file.json', '{}', { durability: 'full' });
export const lock: cfs.FileLock = new cfs.FileLock('file.json.lock');
export const snowflake: cfs.Snowflake = new cfs.Snowflake({ workerId: 1 });
export const id: bigint = snowflake.next();
export const locked: Promise<number> = cfs.withLock('file.json.lock', () => 1);
export const sameApi: typeof cfs.atomicWrite = native.atomicWrite;
export const sameApiToo: typeof cfs.atomicWrite = js.atomicWrite;
// @ts-expect-error: a path is a string or a URL
cfs.atomicWriteSync(42, 'data');
