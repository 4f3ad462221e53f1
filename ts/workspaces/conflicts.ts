// Conflict prediction while agents work: every pair of live branches merged in memory
// (`git merge-tree --write-tree`), so an agent hears of an overlap before merge time.
// merge-tree writes only objects, so this takes no lock and runs beside anything.
import { mergeTree, resolveBranch } from './merge-tree';
import type { RepoContext } from './repo';

/** Two branches that would conflict if both were merged, and the files they fight over. */
export interface BranchConflict {
  readonly a: string;
  readonly b: string;
  readonly files: string[];
}

/** git processes at once: enough to keep two cores busy, few enough not to thrash. */
const PARALLEL = 4;

/**
 * The pairs of `branches` (by `name`) whose merge conflicts, in input order (`a` before
 * `b`). Branches that no longer resolve (removed meanwhile) are left out; branches at
 * one commit never conflict.
 */
export async function findConflicts(
  ctx: RepoContext,
  branches: readonly { name: string; branch: string }[],
  signal?: AbortSignal,
): Promise<BranchConflict[]> {
  const tips = await mapLimited(branches, async (b) => ({ name: b.name, commit: await resolveBranch(ctx, b.branch, signal) }));
  const live = tips.filter((t): t is { name: string; commit: string } => t.commit !== undefined);
  const pairs: { a: (typeof live)[number]; b: (typeof live)[number] }[] = [];
  for (let i = 0; i < live.length; i++) for (let j = i + 1; j < live.length; j++) pairs.push({ a: live[i]!, b: live[j]! });
  const found = await mapLimited(pairs, async ({ a, b }): Promise<BranchConflict | undefined> => {
    if (a.commit === b.commit) return undefined;
    const merged = await mergeTree(ctx, a.commit, b.commit, { signal });
    return 'conflicts' in merged ? { a: a.name, b: b.name, files: merged.conflicts } : undefined;
  });
  return found.filter((c): c is BranchConflict => c !== undefined);
}

/** `items.map(fn)`, at most `PARALLEL` calls running at once; results in input order. */
async function mapLimited<T, R>(items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let k = next++; k < items.length; k = next++) results[k] = await fn(items[k] as T);
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, items.length) }, worker));
  return results;
}
