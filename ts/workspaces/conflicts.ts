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

/** merge-tree runs at once: enough to keep two cores busy, few enough not to thrash. */
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
  const tips = await Promise.all(branches.map(async (b) => ({ name: b.name, commit: await resolveBranch(ctx, b.branch, signal) })));
  const live = tips.filter((t): t is { name: string; commit: string } => t.commit !== undefined);
  const pairs: [number, number][] = [];
  for (let i = 0; i < live.length; i++) for (let j = i + 1; j < live.length; j++) pairs.push([i, j]);
  const found: (BranchConflict | undefined)[] = new Array(pairs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let k = next++; k < pairs.length; k = next++) {
      const [i, j] = pairs[k] as [number, number];
      const [a, b] = [live[i], live[j]] as [(typeof live)[number], (typeof live)[number]];
      if (a.commit === b.commit) continue;
      const merged = await mergeTree(ctx, a.commit, b.commit, { signal });
      if ('conflicts' in merged) found[k] = { a: a.name, b: b.name, files: merged.conflicts };
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, pairs.length) }, worker));
  return found.filter((c): c is BranchConflict => c !== undefined);
}
