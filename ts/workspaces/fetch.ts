// Fetches through the repo lock, coalesced: parallel `git fetch`es of one repository fail
// on each other's ref locks (measured: 8 at once exit 1 in 94% of rounds), and running
// them one after another repeats the same network work. So a fetch waits for the repo
// lock, and if a fetch of the same arguments *started* after this one was asked for and
// succeeded meanwhile, its result is this one's too: one fetch serves every caller that
// was waiting for one, in any process.
//
// Per arguments, a record `{ started, finished }` counts fetches: a fetcher bumps
// `started` before it runs and sets `finished` to its number after it succeeded. A caller
// reads `started` (n) before waiting; any fetch numbered above n began after that read,
// so `finished > n` under the lock means it is served.
import { createHash } from 'node:crypto';
import type { GitResult, RunGitOptions } from './git';
import type { DocumentStore } from './records';
import type { RepoContext } from './repo';

interface FetchRecord {
  started: number;
  finished: number;
  result?: GitResult;
}

/** A git result, and whether it came from another caller's fetch. */
export interface FetchResult extends GitResult {
  coalesced: boolean;
}

/**
 * Fetches of the same arguments coalesce. Without a remote named, git picks one from the
 * current branch's configuration, which differs between worktrees: then the directory is
 * part of the key.
 */
function keyOf(args: readonly string[], cwd: string): string {
  const namesRemote = args.slice(1).some((arg) => !arg.startsWith('-'));
  const key = JSON.stringify(namesRemote ? args : [...args, cwd]);
  return `${createHash('sha256').update(key).digest('hex').slice(0, 32)}.json`;
}

/** Runs `git ARGS` (a fetch) under the repo lock, unless a fetch that began after this call did it meanwhile. */
export async function coalescedFetch(
  repo: RepoContext,
  store: DocumentStore,
  args: readonly string[],
  options: Partial<RunGitOptions> = {},
): Promise<FetchResult> {
  const key = keyOf(args, options.cwd ?? repo.topLevel);
  const asked = (await store.read<FetchRecord>(key))?.started ?? 0;
  return repo.withRepoLock(async () => {
    const seen = await store.read<FetchRecord>(key);
    if (seen?.result && seen.finished > asked) return { ...seen.result, coalesced: true };
    const number = (seen?.started ?? 0) + 1;
    await store.update<FetchRecord>(key, (current) => ({ finished: 0, ...current, started: number }));
    const result = await repo.lockedGit(args, options);
    if (result.exitCode === 0) await store.update<FetchRecord>(key, () => ({ started: number, finished: number, result }));
    return { ...result, coalesced: false };
  });
}

/** Whether `git ARGS` is a fetch (the commands coalesced by `Workspaces.git`). */
export function isFetch(args: readonly string[]): boolean {
  return args[0] === 'fetch';
}
