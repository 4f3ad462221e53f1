// The store as a history checker (after Jepsen's Elle list-append): 8 processes append
// unique tokens to one document, through `update` and `updateOptimistic`, while some of
// them are SIGKILLed at random moments. Then the history must explain the final state:
// - every acknowledged append is in the list exactly once (no lost update);
// - nothing appears twice, and nothing appears that was never attempted;
// - an append that was attempted but not acknowledged (its writer died) is either
//   wholly in the list or not at all; the document always parses (nothing half-written);
// - each process's tokens appear in the order it appended them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IMPLEMENTATIONS, load } from './helpers/impls';
import { startFixture } from './helpers/spawn';
import { tempDir } from './helpers/tmp';

const WORKERS = 8;
const APPENDS = 300;
const VICTIMS = 3;

interface History {
  tried: Set<string>;
  acked: Set<string>;
  failed: string[];
  killed: number[];
}

/** Runs the appenders; kills VICTIMS of them, each a moment after it starts a random append. */
async function runAppenders(impl: 'native' | 'js' | 'control', dir: string): Promise<History> {
  const history: History = { tried: new Set(), acked: new Set(), failed: [], killed: [] };
  const victims = new Map<number, number>();
  while (victims.size < VICTIMS) victims.set(Math.floor(Math.random() * WORKERS), 20 + Math.floor(Math.random() * (APPENDS - 40)));
  const runOne = async (w: number) => {
    const child = startFixture('store-appender.cjs', [impl, dir, w, APPENDS]);
    child.onLine((line) => {
      const [kind, token, code] = line.split(' ');
      if (kind === 'try') {
        history.tried.add(token!);
        // The random moment: 0-3 ms into a random append, usually mid-operation.
        if (Number(token!.split('-')[1]) === victims.get(w)) {
          setTimeout(() => child.process.kill('SIGKILL'), Math.random() * 3);
        }
      } else if (kind === 'ack') history.acked.add(token!);
      else if (kind === 'fail') history.failed.push(`${token} ${code}`);
    });
    const end = await child.exited;
    if (end.signal === 'SIGKILL' && victims.has(w)) history.killed.push(w);
    else if (end.code !== 0) throw new Error(`appender ${w} failed (${end.code ?? end.signal}): ${end.stderr}`);
  };
  await Promise.all(Array.from({ length: WORKERS }, (_, w) => runOne(w)));
  return history;
}

/** What the final list says about the history: every list must be empty to pass. */
function anomalies(tokens: string[], history: History) {
  const counts = new Map<string, number>();
  for (const token of tokens) counts.set(token, (counts.get(token) ?? 0) + 1);
  const duplicated = [...counts].filter(([, n]) => n > 1).map(([token]) => token);
  const lost = [...history.acked].filter((token) => !counts.has(token));
  const invented = tokens.filter((token) => !history.tried.has(token));
  // Per process, tokens must appear in the order they were appended.
  const outOfOrder: string[] = [];
  const lastIndex = new Map<string, number>();
  for (const token of tokens) {
    const [worker, index] = token.split('-') as [string, string];
    if ((lastIndex.get(worker) ?? -1) >= Number(index)) outOfOrder.push(token);
    lastIndex.set(worker, Number(index));
  }
  return { duplicated, lost, invented, outOfOrder, failed: history.failed };
}

describe.each(IMPLEMENTATIONS)('the store under random kills, as a history checker (%s)', (impl) => {
  it(`${WORKERS} processes x ${APPENDS} appends via update and updateOptimistic, ${VICTIMS} killed: every acknowledged append exactly once`, async () => {
    const dir = tempDir('cfs-history');
    const history = await runAppenders(impl, dir);
    // Read through the API: corrupt JSON would reject here, never be papered over.
    const store = new (load(impl).ConcurrentFileStore)(dir);
    const { tokens } = (await store.read<{ tokens: string[] }>('log.json'))!;
    const unacknowledgedPresent = tokens.filter((token) => !history.acked.has(token));

    expect(anomalies(tokens, history)).toEqual({
      duplicated: [],
      lost: [],
      invented: [],
      outOfOrder: [],
      failed: [],
    });
    expect(history.killed.sort()).toHaveLength(VICTIMS);
    // Survivors finished; victims stopped early; an append in flight at a kill may have landed.
    expect(history.acked.size).toBeGreaterThan((WORKERS - VICTIMS) * APPENDS);
    expect(unacknowledgedPresent.length).toBeLessThanOrEqual(VICTIMS);
    console.log(
      `${impl}: ${tokens.length} appends in the log, ${history.acked.size} acknowledged, ${unacknowledgedPresent.length} landed unacknowledged (writer killed), ${VICTIMS} writers killed`,
    );
  }, 180_000);
});

describe('the history checker can see damage', () => {
  it('control: the same appends as a plain read-modify-write (no lock, no atomic write) are lost or torn', async () => {
    const dir = tempDir('cfs-history-control');
    const history = await runAppenders('control', dir);
    let tokens: string[] = [];
    let torn = false;
    try {
      tokens = (JSON.parse(readFileSync(join(dir, 'log.json'), 'utf8')) as { tokens: string[] }).tokens;
    } catch {
      torn = true;
    }
    const found = anomalies(tokens, history);
    expect(torn || found.lost.length > 0 || found.duplicated.length > 0).toBe(true);
  }, 180_000);
});
