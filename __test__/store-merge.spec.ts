// store.updateMerge: optimistic read-modify-write that merges on conflict instead of
// retrying blindly. Real processes commit to one set-union document at once; every
// element must survive, and `merge` must have had real conflicts to resolve.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IMPLEMENTATIONS, load } from './helpers/impls';
import { runFixture } from './helpers/spawn';
import { tempDir } from './helpers/tmp';

const PROCESSES = 6;
const MERGES = 300;

interface SetDoc {
  items: string[];
}

describe.each(IMPLEMENTATIONS)('store.updateMerge (%s)', (impl) => {
  const { ConcurrentFileStore } = load(impl);

  it(`${PROCESSES} processes x ${MERGES} merges of a set-union document: all ${PROCESSES * MERGES} elements kept`, async () => {
    const dir = tempDir('merge');
    const runs = await Promise.all(
      Array.from({ length: PROCESSES }, (_, w) => runFixture('store-merger.cjs', [impl, dir, String(w), String(MERGES)])),
    );
    for (const run of runs) expect(run).toMatchObject({ code: 0, stderr: '' });
    const merges = runs.reduce((sum, run) => sum + Number(run.stdout.match(/merges (\d+)/)?.[1]), 0);
    const doc = JSON.parse(readFileSync(join(dir, 'set.json'), 'utf8')) as SetDoc;
    expect(doc.items).toHaveLength(PROCESSES * MERGES);
    expect(new Set(doc.items).size).toBe(PROCESSES * MERGES);
    expect(merges).toBeGreaterThan(0); // the writers really did conflict
  }, 120_000);

  it("merge gets the base fn saw, this writer's value and the one committed meanwhile", async () => {
    const store = new ConcurrentFileStore(tempDir('merge'));
    await store.update('doc.json', () => ({ n: 1 }));
    const calls: unknown[] = [];
    const result = await store.updateMerge<{ n: number; by?: string }>(
      'doc.json',
      async (doc) => {
        // Another writer commits between this call's read and its commit.
        if (calls.length === 0) await store.update('doc.json', () => ({ n: 2, by: 'other' }));
        return { n: (doc?.n ?? 0) + 10 };
      },
      {
        merge: (base, mine, theirs) => {
          calls.push([base, mine, theirs]);
          return { n: (theirs?.n ?? 0) + mine.n - (base?.n ?? 0), by: theirs?.by };
        },
      },
    );
    expect(calls).toEqual([[{ n: 1 }, { n: 11 }, { n: 2, by: 'other' }]]);
    expect(result).toEqual({ n: 12, by: 'other' });
    expect(await store.read('doc.json')).toEqual({ n: 12, by: 'other' });
  });

  it('uncontended: fn once, merge never; fn throwing writes nothing; bad arguments throw first', async () => {
    const dir = tempDir('merge');
    const store = new ConcurrentFileStore(dir);
    const merge = () => {
      throw new Error('merge must not run');
    };
    expect(await store.updateMerge('a.json', () => ({ v: 1 }), { merge })).toEqual({ v: 1 });
    await expect(
      store.updateMerge(
        'a.json',
        () => {
          throw new Error('no');
        },
        { merge },
      ),
    ).rejects.toThrow('no');
    expect(readFileSync(join(dir, 'a.json'), 'utf8')).toBe('{\n  "v": 1\n}\n');
    await expect(store.updateMerge('a.json', () => 1, {} as never)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    await expect(store.updateMerge('../x', () => 1, { merge })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
  });
});
