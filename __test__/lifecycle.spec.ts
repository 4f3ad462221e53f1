// The lifecycle checker: native and fallback processes run random interleavings of
// acquire / timeout / abort / release (shared and exclusive, on shared objects, nested,
// through aliases, deleting lock files while holding them) and lease / mint / release
// of worker IDs, while some of them are SIGKILLed at random moments. Every process logs
// the holds it is sure of (fixtures/lifecycle.cjs); the checker then requires:
// - at most one exclusive holder of a lock file at any moment, and none beside a shared one;
// - at most one live holder of a worker ID at any moment;
// - no Snowflake ID minted twice;
// - every surviving process finishes its operations (no lost wake-up, no deadlock).
import { readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startFixture } from './helpers/spawn';
import { tempDir } from './helpers/tmp';
import type { Impl } from './helpers/worker';

interface Hold {
  pid: number;
  kind: 's' | 'x';
  start: bigint;
  end: bigint;
}

const OPS = 150;

/** Runs one checker process; kills it (SIGKILL) when it reaches operation `killAt`. */
const lastLines = new Map<number, string>();

async function runProcess(impl: Impl, dir: string, seed: number, killAt: number | undefined, killed: Map<number, bigint>) {
  const child = startFixture('lifecycle.cjs', [impl, dir, seed, OPS]);
  const pid = child.process.pid as number;
  child.onLine((line) => {
    lastLines.set(pid, `${impl} ${line}`);
    if (killAt !== undefined && line.startsWith(`op ${killAt} `)) {
      killed.set(pid, process.hrtime.bigint());
      child.process.kill('SIGKILL');
    }
  });
  const end = await child.exited;
  if (end.code === 0 || (end.signal === 'SIGKILL' && killed.has(pid))) return;
  throw new Error(
    `${impl} process ${pid} (seed ${seed}) failed (${end.code ?? end.signal}): ${end.stderr}\nlast lines: ${JSON.stringify([...lastLines])}`,
  );
}

/** Holds per resource from every log; a killed process's open hold ends when it was killed. */
function readHolds(dir: string, killed: Map<number, bigint>): Map<string, Hold[]> {
  const holds = new Map<string, Hold[]>();
  for (const name of readdirSync(dir).filter((n) => n.startsWith('log.'))) {
    const pid = Number(name.slice(4));
    const open = new Map<string, { kind: 's' | 'x'; start: bigint }>();
    for (const line of readFileSync(join(dir, name), 'utf8').split('\n').filter(Boolean)) {
      const [event, resource, kind, time] = line.split(' ') as [string, string, 's' | 'x', string];
      if (event === 'enter') open.set(resource, { kind, start: BigInt(time) });
      else {
        const entered = open.get(resource);
        open.delete(resource);
        if (entered) add(holds, resource, { pid, kind: entered.kind, start: entered.start, end: BigInt(time) });
      }
    }
    for (const [resource, entered] of open) {
      const end = killed.get(pid);
      if (end !== undefined) add(holds, resource, { pid, ...entered, end });
    }
  }
  return holds;
}

function add(holds: Map<string, Hold[]>, resource: string, hold: Hold): void {
  const list = holds.get(resource) ?? [];
  list.push(hold);
  holds.set(resource, list);
}

/** Pairs of holds of one resource that overlap where at least one is exclusive. */
function conflicts(holds: Map<string, Hold[]>): string[] {
  const found: string[] = [];
  for (const [resource, list] of holds) {
    list.sort((a, b) => (a.start < b.start ? -1 : 1));
    for (let i = 0; i < list.length; i++) {
      const a = list[i] as Hold;
      for (let j = i + 1; j < list.length && (list[j] as Hold).start < a.end; j++) {
        const b = list[j] as Hold;
        if (a.pid !== b.pid && (a.kind === 'x' || b.kind === 'x')) found.push(`${resource}: ${a.pid} ${a.kind} and ${b.pid} ${b.kind}`);
      }
    }
  }
  return found;
}

function duplicateIds(dir: string): number {
  const ids = readdirSync(dir)
    .filter((n) => n.startsWith('ids.'))
    .flatMap((n) => readFileSync(join(dir, n), 'utf8').split('\n').filter(Boolean));
  return ids.length - new Set(ids).size;
}

describe.runIf(process.platform === 'linux')('lifecycle checker', () => {
  it('native and fallback processes, random operations and SIGKILLs: every invariant holds', { timeout: 240_000 }, async () => {
    const dir = tempDir();
    symlinkSync('a.lock', join(dir, 'alias-a.lock'));
    const seed = Number(process.env.CFS_LIFECYCLE_SEED ?? Date.now() % 1_000_000);
    const killed = new Map<number, bigint>();
    const impls: Impl[] = ['native', 'js', 'native', 'js', 'native', 'js'];
    // Two processes are killed partway; the rest must finish all their operations.
    const runs = impls.map((impl, i) => runProcess(impl, dir, seed + i, i < 2 ? 20 + ((seed + i * 37) % (OPS - 40)) : undefined, killed));
    await Promise.all(runs);
    const holds = readHolds(dir, killed);
    const total = [...holds.values()].reduce((n, list) => n + list.length, 0);
    console.log(`lifecycle checker: seed ${seed}, ${total} holds, ${killed.size} processes killed`);
    expect(total).toBeGreaterThan(100);
    expect(conflicts(holds), `seed ${seed}`).toEqual([]);
    expect(duplicateIds(dir), `seed ${seed}`).toBe(0);
  });
});
