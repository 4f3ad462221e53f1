// Entry point 'concurrent-fs': native when its binary loads, else the pure-JS fallback (with one CFS_FALLBACK warning). CONCURRENT_FS_IMPL=js picks the fallback.
/**
 * Safe, fast file access for many processes: atomic durable writes, cross-process locks,
 * optimistic compare-and-swap, a multi-process JSON store, a task queue, an event log and
 * coordination-free IDs.
 *
 * Three entry points export this same API (the same names, types and documentation), over
 * different implementations; `implementation` says which one runs:
 *
 * - `concurrent-fs`: the native addon when its binary loads, else the pure-JS fallback
 *   (with one `CFS_FALLBACK` warning); `CONCURRENT_FS_IMPL=js` picks the fallback.
 * - `concurrent-fs/native`: the native addon only; importing it throws when it cannot load.
 * - `concurrent-fs/js`: the pure-JS fallback only.
 *
 * Errors: OS failures are Node-style errors with `code`, `errno`, `syscall` and `path`
 * (`SystemError`); bad arguments throw `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` /
 * `ERR_OUT_OF_RANGE` before any file is touched; the library's own errors are exported classes.
 *
 * This reference is generated from the doc comments by `npm run docs:api`.
 * @packageDocumentation
 */
import { createApi } from './api';
import type { EventLogBase } from './events/log';
import type { FileLockBase } from './lock';
import { selectBackend } from './select';
import type { SnowflakeBase } from './snowflake';
import type { ConcurrentFileStoreBase } from './store';
import type { TaskQueueBase } from './tasks/queue';
import type { WorkspacesBase } from './workspaces/workspaces';

const api = createApi(selectBackend());

/**
 * Which implementation this entry point runs: `'native'` (the Rust addon) or `'js'` (the
 * pure-JS fallback, used with one `CFS_FALLBACK` warning when the addon does not load).
 */
export const implementation: 'native' | 'js' = api.implementation;
/**
 * Replaces the file at `path` atomically: readers see the old or the new content, never a
 * mix; after a crash, the old or the new. A temp file in the same directory is written,
 * flushed, renamed over the target, and the directory is flushed. Calls from this process
 * to one path commit in call order.
 * @function
 * @param path The file to replace (created if absent).
 * @param data A string (in `options.encoding`), a Buffer, or any typed array or DataView.
 * @param options `durability` (default `'full'`), `mode`, `encoding`, `noClobber`, `mkdirs`, `signal`.
 * @returns Resolves once the new content is in place and flushed as `durability` asks.
 * @throws OS errors with `code`, `syscall`, `path` (`ENOENT` for a missing directory without
 * `mkdirs`, `EACCES`, `EISDIR` ...); `EEXIST` with `noClobber`; `err.committed === true` when
 * only the directory flush failed (the new content is in place); `ABORT_ERR` (`AbortError`);
 * `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` / `ERR_OUT_OF_RANGE` for bad arguments, before any file is touched.
 * @example
 * await atomicWrite('config.json', JSON.stringify(config));
 */
export const atomicWrite = api.atomicWrite;
/**
 * `atomicWrite`, blocking the thread: the same steps and guarantees, not queued behind
 * async calls to the same path.
 * @function
 * @param path The file to replace (created if absent).
 * @param data A string (in `options.encoding`), a Buffer, or any typed array or DataView.
 * @param options As `atomicWrite`'s.
 * @throws As `atomicWrite`.
 * @example
 * atomicWriteSync('state.json', JSON.stringify(state), { durability: 'data' });
 */
export const atomicWriteSync = api.atomicWriteSync;
/**
 * Replaces many files, each atomically, sharing the flushes: every temp is written and
 * flushed at once, renamed in entry order (for two entries of one path the later wins),
 * and each directory is flushed once. Not all-or-nothing: on failure each file is old or new.
 * @function
 * @param entries `{ path, data, mode? }` for each file.
 * @param options `durability` (default `'full'`), `encoding`, `mkdirs`, `signal`.
 * @returns Resolves when every file is in place and flushed.
 * @throws The first OS error (`code`, `syscall`, `path`), with `err.written` = the paths (as
 * given) already renamed into place; no temp file is left. `ABORT_ERR`; `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` / `ERR_OUT_OF_RANGE` for bad arguments, before any file is touched.
 * @example
 * await atomicWriteMany([{ path: 'a.json', data: '{}' }, { path: 'b.json', data: '[]' }]);
 */
export const atomicWriteMany = api.atomicWriteMany;
/**
 * Creates the file with its whole content only if it does not exist, atomically: it never
 * appears empty or partial.
 * @function
 * @param path The file to create.
 * @param data Its content.
 * @param options `durability` (default `'full'`), `mode`, `encoding`, `mkdirs`, `signal`.
 * @returns `true` if this call created the file, `false` if it existed.
 * @throws OS errors with `code`, `syscall`, `path`; `ABORT_ERR`; `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` / `ERR_OUT_OF_RANGE` for bad arguments, before any file is touched.
 * @example
 * if (await createExclusive('init.done', String(process.pid))) runSetupOnce();
 */
export const createExclusive = api.createExclusive;
/**
 * `createExclusive`, blocking the thread.
 * @function
 * @param path The file to create.
 * @param data Its content.
 * @param options As `createExclusive`'s.
 * @returns `true` if this call created the file, `false` if it existed.
 * @throws As `createExclusive`.
 * @example
 * const created = createExclusiveSync('owner.txt', 'me');
 */
export const createExclusiveSync = api.createExclusiveSync;
/**
 * Starts an atomic write whose content comes in pieces: `write(chunk)` as often as needed,
 * then `commit()` (the target changes only then) or `abort()` (the temp file is removed).
 * @function
 * @param path The file to replace.
 * @param options As `atomicWrite`'s; `signal` aborts the write.
 * @returns The open `AtomicFile`.
 * @throws OS errors with `code`, `syscall`, `path` (from each method too); `ABORT_ERR`; `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` / `ERR_OUT_OF_RANGE` for bad arguments, before any file is touched.
 * @example
 * const file = await openAtomic('big.ndjson');
 * for (const row of rows) await file.write(`${JSON.stringify(row)}\n`);
 * await file.commit();
 */
export const openAtomic = api.openAtomic;
/**
 * A cross-process lock on one lock file: a kernel lock (`flock` on Unix, `LockFileEx` on
 * Windows), freed at once if its holder dies, even by SIGKILL. The file is created if
 * absent. Reentrant per object (counted); held until `release()` or exit.
 * Methods: `acquire({ timeout, signal })`, `acquireSync`, `tryAcquire`, `release`,
 * `isLocked`, `Symbol.dispose` / `Symbol.asyncDispose`.
 * @class
 * @throws `ELOCKTIMEOUT` (`LockTimeoutError`) when not had in time, `ABORT_ERR`, `ENOTACQUIRED`
 * (`LockNotHeldError`) on a release of a lock not held, `EDEADLK` when this async context
 * already holds the path through another object, `ERR_INVALID_STATE`, OS errors; `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` / `ERR_OUT_OF_RANGE` for bad arguments, before any file is touched.
 * @example
 * const lock = new FileLock('data.json.lock');
 * await lock.acquire({ timeout: 5000 });
 * try {
 *   await changeData();
 * } finally {
 *   lock.release();
 * }
 */
export const FileLock = api.FileLock;
export type FileLock = FileLockBase;
/**
 * Takes the lock file `path`, runs `fn`, and releases the lock (also when `fn` throws).
 * Nested calls for the same path in one async context re-enter.
 * @function
 * @param path The lock file.
 * @param fn The critical section.
 * @param options `shared` (default `false`), `timeout` (ms, default `Infinity`), `signal`.
 * @returns What `fn` returns.
 * @throws `ELOCKTIMEOUT` (`LockTimeoutError`), `ABORT_ERR`, `EDEADLK`, OS errors, whatever `fn` throws; `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` / `ERR_OUT_OF_RANGE` for bad arguments, before any file is touched.
 * @example
 * await withLock('config.json.lock', async () => {
 *   const config = (await readJson('config.json')) ?? {};
 *   await writeJson('config.json', { ...config, port: 3000 });
 * });
 */
export const withLock = api.withLock;
/**
 * Takes several lock files, all or nothing, in sorted order (no deadlock between
 * `lockMany` callers); never waits while holding some of them.
 * @function
 * @param paths The lock files (aliases of one file are taken once).
 * @param options `shared`, `timeout` (ms, for the whole set; default `Infinity`), `signal`.
 * @returns A `LockSet`: `release()` (reverse order), or `using`.
 * @throws `ELOCKTIMEOUT` (`LockTimeoutError`), `ABORT_ERR`, OS errors; `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` / `ERR_OUT_OF_RANGE` for bad arguments, before any file is touched.
 * @example
 * using locks = await lockMany(['a.lock', 'b.lock']);
 */
export const lockMany = api.lockMany;
/**
 * Who holds the lock file `path` now, without taking or creating it: kernel locks (from
 * `/proc/locks` on Linux, flock(1) and py-filelock holders included) and fallback holders.
 * @function
 * @param path The lock file; a missing file is free.
 * @returns `{ locked, shared, holders: [{ pid, host? }] }`.
 * @throws OS errors with `code`, `syscall`, `path`; `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` / `ERR_OUT_OF_RANGE` for bad arguments, before any file is touched.
 * @example
 * const { locked, holders } = await lockStatus('data.json.lock');
 */
export const lockStatus = api.lockStatus;
export type { LockHolder, LockStatus } from './lock-status';
/**
 * Reads a file and its version (a content hash) for a later `writeIfVersion`.
 * @function
 * @param path The file.
 * @returns `{ data, version }`; both `null` when the file is absent.
 * @throws OS errors with `code`, `syscall`, `path`; `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` / `ERR_OUT_OF_RANGE` for bad arguments, before any file is touched.
 * @example
 * const { data, version } = await readVersioned('counter.txt');
 */
export const readVersioned = api.readVersioned;
/**
 * Writes `data` atomically only if the file's version is still `expected`, checked under
 * the sidecar lock `${path}.lock`.
 * @function
 * @param path The file.
 * @param data The new content.
 * @param expected The version read before (`null`: only if the file is absent).
 * @param options `atomicWrite`'s and `lockTimeout` (ms, default 30000).
 * @returns `true` if written, `false` on a conflict (the file untouched).
 * @throws `ELOCKTIMEOUT`, OS errors as `atomicWrite`, `ABORT_ERR`; `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` / `ERR_OUT_OF_RANGE` for bad arguments, before any file is touched.
 * @example
 * const { data, version } = await readVersioned('n.txt');
 * const ok = await writeIfVersion('n.txt', String(Number(data ?? 0) + 1), version);
 */
export const writeIfVersion = api.writeIfVersion;
/**
 * `writeIfVersion` for JSON values: writes `next` only if the file still holds `expected`
 * (compared deeply).
 * @function
 * @param path The JSON file.
 * @param expected The value expected now (`undefined`: only if the file is absent).
 * @param next The value to write.
 * @param options As `writeIfVersion`'s.
 * @returns `true` if written, `false` on a conflict.
 * @throws `ECORRUPT` (`CorruptFileError`) when the file is not JSON, `ELOCKTIMEOUT`, OS errors; `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` / `ERR_OUT_OF_RANGE` for bad arguments, before any file is touched.
 * @example
 * await compareAndSwap('leader.json', undefined, { pid: process.pid }); // claim if absent
 */
export const compareAndSwap = api.compareAndSwap;
/**
 * Lock-free read-modify-write of a JSON file: reads, calls `transform`, and writes with
 * `writeIfVersion`; on a conflict backs off and tries again.
 * @function
 * @param path The JSON file.
 * @param transform Gets the current value (`undefined` when absent), returns the new one.
 * @param options `retries` (default 10), `backoff`, `onConflict`, `durability`, `mode`, `lockTimeout`, `signal`.
 * @returns The value written.
 * @throws `ECONFLICT` (`ConflictError`) after the last retry, `ECORRUPT`, `ABORT_ERR`, OS errors,
 * whatever `transform` throws; `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` / `ERR_OUT_OF_RANGE` for bad arguments, before any file is touched.
 * @example
 * await optimisticUpdate('stats.json', (s = { runs: 0 }) => ({ runs: s.runs + 1 }));
 */
export const optimisticUpdate = api.optimisticUpdate;
/**
 * Reads and parses a JSON file (a leading byte-order mark is skipped).
 * @function
 * @param path The JSON file.
 * @returns The parsed value, `undefined` when the file is absent.
 * @throws `ECORRUPT` (`CorruptFileError`, with `path`) when it is not JSON; OS errors; `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` / `ERR_OUT_OF_RANGE` for bad arguments, before any file is touched.
 * @example
 * const config = (await readJson('config.json')) ?? {};
 */
export const readJson = api.readJson;
/**
 * `atomicWrite` of `JSON.stringify(value, null, spaces)`, ending with a newline unless
 * the file it replaces did not.
 * @function
 * @param path The JSON file.
 * @param value Any JSON-serialisable value.
 * @param options `atomicWrite`'s and `spaces` (default 2).
 * @returns Resolves when written.
 * @throws As `atomicWrite`; `ERR_INVALID_ARG_VALUE` for a value JSON cannot hold.
 * @example
 * await writeJson('config.json', { port: 3000 });
 */
export const writeJson = api.writeJson;
/**
 * Locked read-modify-write of a JSON file, under the sidecar lock `${file}.lock` of the
 * file `path` resolves to (a symlink and its target share it). If `fn` throws, nothing is written.
 * @function
 * @param path The JSON file.
 * @param fn Gets the current value (`undefined` when absent), returns the new one.
 * @param options `durability` (default `'full'`), `timeout` (lock wait, ms; default `Infinity`), `signal`, `spaces` (default 2), `mkdirs`.
 * @returns The value `fn` returned.
 * @throws `ECORRUPT`, `ELOCKTIMEOUT`, `ABORT_ERR`, OS errors, whatever `fn` throws; `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` / `ERR_OUT_OF_RANGE` for bad arguments, before any file is touched.
 * @example
 * await updateJson('tasks.json', (tasks = []) => [...tasks, { title: 'docs' }]);
 */
export const updateJson = api.updateJson;
/**
 * Calls `fn` until it resolves, waiting an exponential backoff between failed attempts.
 * @function
 * @param fn The operation; it gets the attempt number (0 for the first call) and may be async.
 * @param options `retries` (default 10), `shouldRetry`, `signal`, and `BackoffOptions`
 * (`initialDelay` 10 ms, `factor` 2, `maxDelay` 1000 ms, `jitter` `'full'`, `random`).
 * @returns What `fn` resolved to.
 * @throws The last error of `fn` when retries run out or `shouldRetry` says no; `ABORT_ERR`
 * (an abort also cancels a pending delay); `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` / `ERR_OUT_OF_RANGE` for bad arguments, before any file is touched.
 * @example
 * const body = await retry(() => fetch(url).then((r) => r.text()), { retries: 3 });
 */
export const retry = api.retry;
/**
 * The delays (ms) `retry` waits, as an endless iterable, for loops of your own.
 * @function
 * @param options `initialDelay` (default 10), `factor` (2), `maxDelay` (1000), `jitter` (`'full'`), `random`.
 * @returns An iterable of delays in ms.
 * @throws `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` / `ERR_OUT_OF_RANGE` for bad arguments, before any file is touched.
 * @example
 * for (const ms of backoffDelays({ jitter: 'none' })) { if (tryOnce()) break; await sleep(ms); }
 */
export const backoffDelays = api.backoffDelays;
/**
 * A Snowflake ID generator: 63-bit IDs (time | worker | sequence) that strictly increase
 * per generator, with no coordination beyond a distinct `workerId` per live generator.
 * Methods: `next()` (bigint), `nextString()`, `nextBatch(count)` (`BigUint64Array`),
 * `parse(id)`; static `Snowflake.parse(id, options?)`.
 * @class
 * @throws `ECLOCKBACKWARDS` (`ClockBackwardsError`) from `next*` when the clock went back further
 * than `'wait'` waits out (or at all with `'throw'`); `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` / `ERR_OUT_OF_RANGE` for bad arguments, before any file is touched.
 * @example
 * const ids = new Snowflake({ workerId: (await leaseWorkerId('.ids')).id });
 * ids.next(); // 384973869259190272n
 */
export const Snowflake = api.Snowflake;
export type Snowflake = SnowflakeBase;
/**
 * A UUID version 7 (RFC 9562): time-ordered, strictly increasing within this process.
 * @function
 * @returns The UUID as 36 lowercase characters.
 * @example
 * uuidv7(); // '01a22120-bb1c-73b6-bcca-9a4a3f2c6e8e'
 */
export const uuidv7 = api.uuidv7;
/**
 * `uuidv7()` as its 16 bytes.
 * @function
 * @returns The UUID's bytes, big-endian.
 * @example
 * const bytes = uuidv7Bytes(); // Uint8Array(16)
 */
export const uuidv7Bytes = api.uuidv7Bytes;
/**
 * `count` UUIDv7s at once, increasing.
 * @function
 * @param count How many.
 * @returns The UUIDs, in order.
 * @throws `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` / `ERR_OUT_OF_RANGE` for bad arguments, before any file is touched.
 * @example
 * const [a, b] = uuidv7Batch(2); // a < b
 */
export const uuidv7Batch = api.uuidv7Batch;
/**
 * The Unix ms timestamp in a UUIDv7 (its first 48 bits).
 * @function
 * @param uuid A UUIDv7 string.
 * @returns Milliseconds since 1970.
 * @throws `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` when `uuid` is not a UUIDv7.
 * @example
 * new Date(uuidv7Timestamp(uuidv7()));
 */
export const uuidv7Timestamp = api.uuidv7Timestamp;
/**
 * A worker ID from a hash of host name, pid and MAC addresses. No coordination, so it can
 * collide: among n processes about 1 - e^(-n(n-1)/2^(bits+1)). Prefer `leaseWorkerId`.
 * @function
 * @param bits Width of the ID, default 10.
 * @returns An integer in [0, 2^bits).
 * @throws `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` / `ERR_OUT_OF_RANGE` for bad arguments, before any file is touched.
 * @example
 * new Snowflake({ workerId: machineWorkerId() });
 */
export const machineWorkerId = api.machineWorkerId;
/**
 * Leases the lowest worker ID no live process holds, by a kernel lock on
 * `dir/worker-<id>.lock`, freed on `release()` or process death. A high-water mark per ID
 * keeps IDs minted under a re-leased worker ID from repeating earlier ones.
 * @function
 * @param dir Directory of the leases, shared by every process that must get distinct IDs.
 * @param options `bits` (1 to 16, default 10), `timeout` (ms to wait when all are taken; default 0).
 * @returns A `WorkerLease`: `id`, `release()`.
 * @throws `ELOCKTIMEOUT` (`LockTimeoutError`, `path` = `dir`) when every ID is taken; OS errors; `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` / `ERR_OUT_OF_RANGE` for bad arguments, before any file is touched.
 * @example
 * const lease = await leaseWorkerId('.state/workers');
 * const ids = new Snowflake({ workerId: lease.id });
 */
export const leaseWorkerId = api.leaseWorkerId;
/**
 * A directory of JSON documents shared by many processes. Methods: `read(name)`,
 * `update(name, fn)` (locked read-modify-write; nothing written if `fn` throws),
 * `updateOptimistic(name, fn, options?)` (lock-free, retried), `updateMerge(name, fn, { merge })`
 * (a three-way merge on conflict), `createUnique(prefix, content)` (`${prefix}_${snowflake}.json`),
 * `delete(name)`, `list(prefix?)`.
 * @class
 * @throws From its methods: `ECORRUPT` (`CorruptFileError`, the file is never overwritten),
 * `ELOCKTIMEOUT`, `ECONFLICT`, OS errors; `ERR_INVALID_ARG_VALUE` for a name that is not a
 * single plain path component (empty, `.`/`..`, `/`, `\`, NUL, a leading `.`, a `.lock` ending).
 * @example
 * const store = new ConcurrentFileStore('.agents/state');
 * await store.update('tasks.json', (tasks = []) => [...tasks, { title: 'write docs' }]);
 */
export const ConcurrentFileStore = api.ConcurrentFileStore;
export type ConcurrentFileStore = ConcurrentFileStoreBase;
/**
 * A task queue in a directory for any number of processes. A claimed task is held by a
 * kernel-lock lease: a claimer that dies gives it back at once (`attempts` counted up,
 * `failed` after `maxAttempts`). Methods: `add(data, { exclusive, dependsOn, maxAttempts })`
 * (resolves to the task ID), `claim({ worker, wait, signal })` (a `ClaimedTask` or
 * `undefined`), `list({ state })`.
 * @class
 * @throws From its methods: `ERR_INVALID_STATE` on a second `complete`/`fail` of a task,
 * `ABORT_ERR`, OS errors; `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` / `ERR_OUT_OF_RANGE` for bad arguments, before any file is touched.
 * @example
 * const q = new TaskQueue('.state/tasks');
 * await q.add({ title: 'auth docs' }, { exclusive: ['src/auth/**'] });
 * await using task = await q.claim({ worker: 'alice' });
 * if (task) await task.complete({ pr: 42 });
 */
export const TaskQueue = api.TaskQueue;
export type TaskQueue = TaskQueueBase;
/**
 * Leases the lowest port of `range` that no live leaseholder sharing `dir` has and that
 * binds on 127.0.0.1 now; free again on `release()` or when the holder dies.
 * @function
 * @param options `dir` (required), `range` (default [3000, 3999]), `timeout` (ms; default 0), `signal`.
 * @returns A `PortLease`: `port`, `release()`.
 * @throws `ELOCKTIMEOUT` (`LockTimeoutError`, `path` = `dir`) when every port is taken;
 * `ABORT_ERR`; OS errors; `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` / `ERR_OUT_OF_RANGE` for bad arguments, before any file is touched.
 * @example
 * await using lease = await leasePort({ dir: '.state/ports', range: [3000, 3099] });
 * server.listen(lease.port);
 */
export const leasePort = api.leasePort;
export type { LeasePortOptions, PortLease } from './ports';
export * from './public-types';
export type { UpdateMergeOptions } from './store';
/**
 * The git worktrees of one repository, one per agent: created with only the registration
 * serialised (one repo lock in `<git-common-dir>/concurrent-fs/`), checked out in
 * parallel, each owned by a kernel-lock lease that its git processes inherit, and
 * repaired at once when its owner dies (`reclaim`). Needs git 2.38+ on PATH. Static
 * `open(repo, { root, branchPrefix, base, include, lockTimeout })`; methods `create(name,
 * { base, task })`, `acquire(name)`, `list()`, `remove(name, { discardChanges, keepBranch })`,
 * `reclaim({ dryRun })`, `merge(name, { into, strategy, check })` (resolves to a
 * `MergeResult`), `conflicts()` (`WorkspaceConflict[]`), `git(args, options)`, `dir(name)`;
 * property `store`.
 * @throws `EGITVERSION` (`GitVersionError`) without a usable git; from its methods: `EBUSY`
 * (`WorkspaceBusyError`, naming the live owner), `EDIRTY` (`WorkspaceDirtyError`),
 * `EMERGEREFUSED` (`MergeRefusedError`, with `reason`), `EEXIST`,
 * `ENOENT`, `EGIT` (`GitError`: args, cwd, exitCode, stderr), `ELOCKTIMEOUT`; `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` for bad arguments (a name must be a safe branch and directory component), before anything is touched.
 * @example
 * const wss = await Workspaces.open('.', { base: 'origin/main', include: ['.env'] });
 * await using ws = await wss.create('alice');
 * await runAgentIn(ws.path); // commits on ws.branch
 * const merged = await wss.merge('alice', { check: ['npm', 'test'] }); // { status: 'merged', commit } | { status: 'conflict', files } | ...
 * await wss.remove('alice'); // keeps the branch if it has commits of its own
 */
export const Workspaces = api.Workspaces;
export type Workspaces = WorkspacesBase;
/**
 * An append-only log of JSON events for any number of processes: framed, checksummed
 * records appended under a lock, contiguous `seq`, a torn tail of a killed appender cut
 * and never read. Methods: `append(event)` (resolves to `{ seq }`), `read({ from })`,
 * `tail({ from, signal })` (waits for new events), `consumer(name)` (a durable cursor).
 * @class
 * @throws From its methods: `ABORT_ERR` (`tail` with a `signal`), OS errors; `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` / `ERR_OUT_OF_RANGE` for bad arguments, before any file is touched.
 * @example
 * const log = new EventLog('.state/events.log');
 * await log.append({ type: 'claimed', agent: 'alice' });
 * for await (const e of log.read()) console.log(e.seq, e.data);
 */
export const EventLog = api.EventLog;
export type EventLog = EventLogBase;
export type { EventLogOptions, LogConsumer, LogEvent } from './events/log';
export type {
  AddTaskOptions,
  ClaimedTask,
  ClaimOptions,
  FailOptions,
  TaskError,
  TaskInfo,
  TaskQueueOptions,
  TaskState,
} from './tasks/queue';
