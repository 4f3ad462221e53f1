// Property tests (fast-check): random sequences of operations against an in-memory
// model, and hostile path inputs. A failing run prints the shrunk counterexample and
// its seed; `FC_SEED=<seed> FC_RUNS=<n>` replays or deepens a run.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IMPLEMENTATIONS, load } from './helpers/impls';
import { names, tempDir } from './helpers/tmp';

const SEED = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED);
const RUNS = Number(process.env.FC_RUNS ?? 25);
const params = { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }) };

type Cfs = ReturnType<typeof load>;

/** The model: the file's bytes (null: absent), and every version seen for given bytes. */
interface Model {
  bytes: Buffer | null;
  versions: Map<string, string>;
}

/** The real system under test: one file in a fresh directory. */
interface Real {
  cfs: Cfs;
  dir: string;
  path: string;
}

const jsonText = fc.jsonValue({ maxDepth: 2 }).map((value) => JSON.stringify(value));

/** Checks the file against the model, and that nothing but the file and its lock is left. */
function checkFile(model: Model, real: Real): void {
  let bytes: Buffer | null = null;
  try {
    bytes = readFileSync(real.path);
  } catch {}
  expect(bytes === null ? null : bytes.toString()).toEqual(model.bytes === null ? null : model.bytes.toString());
  expect(names(real.dir).filter((n) => n !== 'f.json' && n !== 'f.json.lock')).toEqual([]);
}

/** A version must be a function of the bytes: same bytes, same version; else different. */
function checkVersion(model: Model, bytes: Buffer, version: string): void {
  const key = bytes.toString('hex');
  const seen = model.versions.get(key);
  if (seen !== undefined) expect(version).toBe(seen);
  else {
    expect([...model.versions.values()]).not.toContain(version);
    model.versions.set(key, version);
  }
}

class Write implements fc.AsyncCommand<Model, Real> {
  constructor(readonly text: string) {}
  check = () => true;
  async run(model: Model, real: Real) {
    await real.cfs.atomicWrite(real.path, this.text, { durability: 'none' });
    model.bytes = Buffer.from(this.text);
    checkFile(model, real);
  }
  toString = () => `atomicWrite(${JSON.stringify(this.text)})`;
}

class Remove implements fc.AsyncCommand<Model, Real> {
  check = () => true;
  async run(model: Model, real: Real) {
    rmSync(real.path, { force: true });
    model.bytes = null;
  }
  toString = () => 'remove';
}

class Read implements fc.AsyncCommand<Model, Real> {
  check = () => true;
  async run(model: Model, real: Real) {
    const { data, version } = await real.cfs.readVersioned(real.path);
    expect(data === null ? null : data.toString()).toEqual(model.bytes === null ? null : model.bytes.toString());
    if (data === null) expect(version).toBeNull();
    else checkVersion(model, data, version!);
  }
  toString = () => 'readVersioned';
}

/** writeIfVersion with the current version, a stale (other content's) version, or null. */
class WriteIfVersion implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly text: string,
    readonly expected: 'current' | 'stale' | 'null',
  ) {}
  check = () => true;
  async run(model: Model, real: Real) {
    const { version } = await real.cfs.readVersioned(real.path);
    const currentHex = model.bytes?.toString('hex');
    const stale = [...model.versions.entries()].find(([hex]) => hex !== currentHex)?.[1] ?? '0'.repeat(32);
    const expected = this.expected === 'current' ? version : this.expected === 'stale' ? stale : null;
    const shouldWrite = expected === version;
    const written = await real.cfs.writeIfVersion(real.path, this.text, expected, { durability: 'none' });
    expect(written).toBe(shouldWrite);
    if (written) model.bytes = Buffer.from(this.text);
    checkFile(model, real);
  }
  toString = () => `writeIfVersion(${JSON.stringify(this.text)}, ${this.expected})`;
}

/** compareAndSwap expecting the current value, some other value, or absence. */
class CompareAndSwap implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly next: unknown,
    readonly expected: 'current' | 'other' | 'absent',
    readonly other: unknown,
  ) {}
  check = () => true;
  async run(model: Model, real: Real) {
    const current = model.bytes === null ? undefined : JSON.parse(model.bytes.toString());
    const expected = this.expected === 'current' ? current : this.expected === 'absent' ? undefined : this.other;
    // The model's own comparison: JSON values, compared as their canonical text.
    const same =
      model.bytes === null ? expected === undefined : expected !== undefined && JSON.stringify(expected) === JSON.stringify(current);
    const swapped = await real.cfs.compareAndSwap(real.path, expected, this.next, { durability: 'none' });
    expect(swapped).toBe(same);
    if (swapped) model.bytes = Buffer.from(`${JSON.stringify(this.next, null, 2)}\n`);
    checkFile(model, real);
  }
  toString = () => `compareAndSwap(${this.expected}, ${JSON.stringify(this.next)})`;
}

const commands = [
  jsonText.map((text) => new Write(text)),
  fc.constant(new Remove()),
  fc.constant(new Read()),
  fc
    .tuple(jsonText, fc.constantFrom('current', 'stale', 'null') as fc.Arbitrary<'current' | 'stale' | 'null'>)
    .map(([text, expected]) => new WriteIfVersion(text, expected)),
  fc
    .tuple(
      fc.jsonValue({ maxDepth: 2 }),
      fc.constantFrom('current', 'other', 'absent') as fc.Arbitrary<'current' | 'other' | 'absent'>,
      fc.jsonValue({ maxDepth: 1 }),
    )
    .map(([next, expected, other]) => new CompareAndSwap(JSON.parse(JSON.stringify(next)), expected, JSON.parse(JSON.stringify(other)))),
];

describe.each(IMPLEMENTATIONS)('properties (%s)', (impl) => {
  const cfs = load(impl);

  it('random sequences of atomicWrite / writeIfVersion / compareAndSwap / readVersioned agree with a model', async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 30 }), async (cmds) => {
        const dir = tempDir('cfs-prop');
        const real: Real = { cfs, dir, path: join(dir, 'f.json') };
        await fc.asyncModelRun(() => ({ model: { bytes: null, versions: new Map() }, real }), cmds);
      }),
      { ...params, numRuns: RUNS * 2 },
    );
  });
});

// Path inputs: whatever the name, a write either lands (and reads back through the same
// path, with no temp left) or fails with a documented code; both implementations agree,
// and nothing escapes the test's directory (names never contain '/' except the fixed cases).
const PATH_CODES = ['ERR_INVALID_ARG_VALUE', 'ENAMETOOLONG', 'EISDIR', 'ENOENT', 'ENOTDIR'];

const hostileName = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }).filter((s) => !s.includes('/')),
  fc.string({ unit: 'binary', maxLength: 40 }).filter((s) => !s.includes('/')),
  fc.integer({ min: 200, max: 300 }).map((n) => 'x'.repeat(n)),
  fc.integer({ min: 60, max: 130 }).map((n) => 'é'.repeat(n)),
  fc.integer({ min: 40, max: 70 }).map((n) => '😀'.repeat(n)),
  fc.constantFrom('', '.', '..', 'a\0b', '\0', 'missing/x', 'file.txt/x', 'sub/', 'sub', ' ', '.hidden', 'x.tmp', '-', '\\', '~'),
);

type Outcome = { ok: true; content: string } | { ok: false; code: string };

async function attempt(cfs: Cfs, dir: string, name: string, api: 'sync' | 'async'): Promise<Outcome> {
  // The fixed cases need something to collide with.
  writeFileSync(join(dir, 'file.txt'), 'file');
  rmSync(join(dir, 'sub'), { recursive: true, force: true });
  mkdirSync(join(dir, 'sub'));
  // '' and NUL are passed as given (the argument check must catch them); others under dir.
  const path = name === '' || name.includes('\0') ? name : join(dir, name);
  try {
    if (api === 'sync') cfs.atomicWriteSync(path, 'content');
    else await cfs.atomicWrite(path, 'content');
    return { ok: true, content: readFileSync(path, 'utf8') };
  } catch (err) {
    return { ok: false, code: (err as { code?: string }).code ?? String(err) };
  }
}

describe('properties: hostile path inputs', () => {
  it('never crash, give documented codes, leave no temp, and both implementations agree', async () => {
    const native = load('native');
    const js = load('js');
    await fc.assert(
      fc.asyncProperty(hostileName, fc.constantFrom('sync', 'async') as fc.Arbitrary<'sync' | 'async'>, async (name, api) => {
        const dirs = [tempDir('cfs-path-n'), tempDir('cfs-path-j')];
        const outcomes = [await attempt(native, dirs[0]!, name, api), await attempt(js, dirs[1]!, name, api)];
        for (const [i, outcome] of outcomes.entries()) {
          if (outcome.ok) expect(outcome.content).toBe('content');
          else expect(PATH_CODES).toContain(outcome.code);
          expect(names(dirs[i]!).filter((n) => /^\..*\.[0-9a-f]{12}\.tmp$/.test(n))).toEqual([]);
        }
        expect(outcomes[1]).toEqual(outcomes[0]);
      }),
      { ...params, numRuns: RUNS * 8 },
    );
  });
});

// Snowflake round trips: for random custom layouts, epochs and worker IDs, every ID
// parses back to its worker, a sequence within its bits, and a time between the clock
// before and after minting; IDs increase; both implementations parse every ID alike.
const layoutArb = fc
  .record({
    workerBits: fc.integer({ min: 1, max: 16 }),
    sequenceBits: fc.integer({ min: 4, max: 14 }),
    timeUnitMs: fc.integer({ min: 1, max: 10 }),
  })
  .chain((l) =>
    fc.record({
      layout: fc.integer({ min: 32, max: 63 - l.workerBits - l.sequenceBits }).map((timeBits) => ({ ...l, timeBits })),
      workerId: fc.integer({ min: 0, max: 2 ** l.workerBits - 1 }),
      epochAgoMs: fc.integer({ min: 0, max: 10 * 86_400_000 }),
    }),
  );

describe.each(IMPLEMENTATIONS)('properties: Snowflake layouts (%s)', (impl) => {
  const cfs = load(impl);
  const other = load(impl === 'native' ? 'js' : 'native');

  it('every ID parses back to its worker, sequence and minting time, and IDs increase', () => {
    fc.assert(
      fc.property(layoutArb, ({ layout, workerId, epochAgoMs }) => {
        const epoch = Date.now() - epochAgoMs;
        const gen = new cfs.Snowflake({ workerId, epoch, layout });
        const before = Date.now();
        const ids = [gen.next(), ...gen.nextBatch(20), BigInt(gen.nextString())];
        const after = Date.now();
        for (const [i, id] of ids.entries()) {
          if (i > 0) expect(id > ids[i - 1]!).toBe(true);
          const parts = gen.parse(id);
          expect(parts.workerId).toBe(workerId);
          expect(parts.sequence).toBeLessThan(2 ** layout.sequenceBits);
          // The unit's start; a run of exhausted sequences may borrow a unit or so ahead.
          expect(parts.timestamp).toBeGreaterThanOrEqual(before - layout.timeUnitMs);
          expect(parts.timestamp).toBeLessThanOrEqual(after + 2 * layout.timeUnitMs);
          expect(cfs.Snowflake.parse(id, { epoch, layout })).toEqual(parts);
          expect(other.Snowflake.parse(id.toString(), { epoch, layout })).toEqual(parts);
        }
      }),
      { ...params, numRuns: RUNS * 4 },
    );
  });
});
