// Hostile paths: symlink chains and cycles, dangling links, `..` inside link targets,
// symlinked directories, hard links, trailing `/` and `/.`, FIFOs, sockets, names at
// and past NAME_MAX, read-only and write-only directories.
//
// Every case is a small tree (helpers/tree.ts) built in fresh copies: one for Node's
// own fs (the reference: `fs.writeFile`'s open, or an exclusive `wx` open), and one per
// implementation and call. The calls run in child processes (fixtures/hostile-child.cjs),
// as uid 65534 when the tests run as root (root ignores directory modes), so a crash
// is a failed test, not a dead runner. A case passes when:
// - the call fails exactly when the reference fails, with the same code (createExclusive
//   answers `false` where `wx` says EEXIST), naming the path the caller gave;
// - on success the tree is the reference's tree, and on failure it is untouched;
// - no temp file is left anywhere in the tree;
// - except for the documented rules: a write replaces a file by rename, so another hard
//   link to the old file keeps the old content; replacing needs a writable directory
//   (EACCES where fs.writeFile could write in place); flushing a directory
//   (`durability` 'data'/'full') needs to open it for reading (EACCES in a `-wx` one).
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { unprivileged } from './helpers/as-nobody';
import { runFixture, runSync, stdoutOf } from './helpers/spawn';
import { tempDir } from './helpers/tmp';
import { build, closeAll, ROOT_MARK, snapshot, type Tree, tempFiles } from './helpers/tree';

const SEED = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED);
const RUNS = Number(process.env.FC_RUNS ?? 4);

const IS_ROOT = process.getuid?.() === 0;

type Op = 'atomicWrite' | 'atomicWriteSync' | 'openAtomic' | 'createExclusive' | 'createExclusiveSync';
type Durability = 'none' | 'data' | 'full';

interface Scenario {
  name: string;
  tree: Tree;
  /** The path given to the call, relative to the tree's root, used as text. */
  target: string;
  /** A documented difference from fs.writeFile (see the header). */
  rule?: 'needs-writable-dir' | 'needs-readable-dir';
}

interface Variant {
  op: Op;
  durability: Durability;
  noClobber: boolean;
}

interface Outcome {
  ok: boolean;
  value?: unknown;
  code?: string;
  path?: string | null;
  message?: string;
}

const IMPLS = ['native', 'js'] as const;
const DATA = 'new content\n';
const OLD = 'old\n';

const exclusive = (v: Variant) => v.op.startsWith('createExclusive') || v.noClobber;

// ---------------------------------------------------------------------------
// The fixed cases: each kind of hostile path at least once.

const file = (content = OLD) => ({ kind: 'file', content }) as const;
const link = (text: string) => ({ kind: 'symlink', text }) as const;
const dir = (mode?: number) => ({ kind: 'dir', mode }) as const;

function chain(length: number): Tree {
  const tree: Tree = [['real', file()]];
  for (let i = 1; i <= length; i++) tree.push([`l${i}`, link(i === 1 ? 'real' : `l${i - 1}`)]);
  return tree;
}

/** A scenario: the call on `target` in a tree of `entries`. */
const at = (name: string, target: string, ...tree: Tree): Scenario => ({ name, tree, target });

const FIXED: Scenario[] = [
  at('an existing file', 'f', ['f', file()]),
  at('an absent file', 'new', ['f', file()]),
  at('a directory', 'd', ['d', dir()]),
  ...['f/', 'f/.', 'f//', 'new/', 'new/.', 'd/', 'd/.', 'f/..', 'd/..', 'missing/x', 'missing/x/', 'f/x', '.'].map((target) => ({
    name: `trailing or inner component: ${target}`,
    tree: [['f', file()] as const, ['d', dir()] as const] as Tree,
    target,
  })),
  at('a link to a file, with a trailing slash', 'lf/', ['f', file()], ['lf', link('f')]),
  at('a link to a file, with /.', 'lf/.', ['f', file()], ['lf', link('f')]),
  at('a chain of 3 links', 'l3', ...chain(3)),
  at('a chain of 40 links (the limit)', 'l40', ...chain(40)),
  at('a chain of 41 links', 'l41', ...chain(41)),
  at('a link to itself', 'a', ['a', link('a')]),
  at('a cycle of 2 links', 'a', ['a', link('b')], ['b', link('a')]),
  at('a cycle of 3 links', 'a', ['a', link('b')], ['b', link('c')], ['c', link('a')]),
  at('a dangling link', 'l', ['l', link('nothere')]),
  at('a dangling link into a missing directory', 'l', ['l', link('missing/x')]),
  at('a dangling link with a trailing slash', 'l', ['l', link('nothere/')]),
  at('a link to a file with a trailing slash', 'l', ['f', file()], ['l', link('f/')]),
  at('a link to .', 'l', ['l', link('.')]),
  at('a link to ..', 'd/l', ['d/l', link('..')]),
  at('a link to a directory', 'l', ['d', dir()], ['l', link('d')]),
  at('an absolute link', 'l', ['f', file()], ['l', link(`${ROOT_MARK}/f`)]),
  ...[true, false].map((present) => ({
    // dir/link -> sub/../x where sub -> ../e/deep: the kernel's sub/.. is e, not dir.
    name: `.. in a link through a symlinked directory (x ${present ? 'present' : 'absent'})`,
    tree: [
      ['e/deep', dir()],
      ['dir/sub', link('../e/deep')],
      ['dir/link', link('sub/../x')],
      ...(present ? ([['e/x', file()]] as Tree) : []),
    ] as Tree,
    target: 'dir/link',
  })),
  at(
    '.. in the given path after a symlinked directory',
    'dl/../g',
    ['e/deep', dir()],
    ['e/g', file()],
    ['dl', link('e/deep')],
    ['g', file('root g\n')],
  ),
  at('a file through a symlinked directory', 'ld/g', ['d/g', file()], ['ld', link('d')]),
  at('a hard link', 'f', ['f', file()], ['h', { kind: 'hardlink', of: 'f' }]),
  at('a FIFO', 'p', ['p', { kind: 'fifo' }]),
  at('a link to a FIFO', 'l', ['p', { kind: 'fifo' }], ['l', link('p')]),
  at('a socket', 's', ['s', { kind: 'socket' }]),
  at('a link to a socket', 'l', ['s', { kind: 'socket' }], ['l', link('s')]),
  { name: 'a 255-byte name', tree: [], target: 'x'.repeat(255) },
  { name: 'a 256-byte name', tree: [], target: 'x'.repeat(256) },
  { name: 'a 255-byte name of 2-byte characters', tree: [], target: `${'é'.repeat(127)}x` },
  { name: 'a 256-byte name of 2-byte characters', tree: [], target: 'é'.repeat(128) },
  { name: 'a 255-byte name that exists', tree: [['x'.repeat(255), file()]], target: 'x'.repeat(255) },
  ...['f', 'new'].map((name) => ({
    name: `a read-only directory (${name})`,
    tree: [[`ro/f`, file()] as const, ['ro', dir(0o555)] as const] as Tree,
    target: `ro/${name}`,
    rule: 'needs-writable-dir' as const,
  })),
  ...['f', 'new'].map((name) => ({
    name: `a write-only directory (${name})`,
    tree: [[`wo/f`, file()] as const, ['wo', dir(0o300)] as const] as Tree,
    target: `wo/${name}`,
    rule: 'needs-readable-dir' as const,
  })),
  {
    name: 'a link into a write-only directory',
    tree: [
      ['wo/f', file()],
      ['wo', dir(0o300)],
      ['l', link('wo/f')],
    ],
    target: 'l',
    rule: 'needs-readable-dir',
  },
];

/** Every call; each call with and without noClobber, each durability twice or more. */
const VARIANTS: Variant[] = [
  { op: 'atomicWrite', durability: 'none', noClobber: false },
  { op: 'atomicWrite', durability: 'full', noClobber: true },
  { op: 'atomicWriteSync', durability: 'data', noClobber: false },
  { op: 'atomicWriteSync', durability: 'none', noClobber: true },
  { op: 'openAtomic', durability: 'full', noClobber: false },
  { op: 'openAtomic', durability: 'data', noClobber: true },
  { op: 'createExclusive', durability: 'none', noClobber: false },
  { op: 'createExclusiveSync', durability: 'full', noClobber: false },
];

// ---------------------------------------------------------------------------
// Random trees: a few names in three directories, each maybe a file, link, FIFO, hard
// link or directory; link texts and targets from sets that make chains, cycles,
// dangling links, `..` through links and trailing slashes likely.

const SLOTS = ['a', 'b', 'c', 'd/a', 'd/b', 'e/deep/a'];
const LINK_TEXTS = [
  'a',
  'b',
  'c',
  'x',
  'd',
  'd/a',
  'd/b',
  '../a',
  '../b',
  '../d/a',
  'deep/a',
  '../e/deep/a',
  'e/deep/../a',
  'e/deep/../../a',
  'd/../a',
  'a/',
  'a/.',
  '.',
  '..',
  `${ROOT_MARK}/a`,
  `${ROOT_MARK}/d/b`,
  'd/x',
  'x/y',
];
const TARGETS = [...SLOTS, 'x', 'd/x', 'd', 'a/', 'a/.', 'd/a/', 'e/deep/../a', 'd/../b', 'a/b', 'a/a', 'b/../a', 'e/deep/a/.'];

const slotEntry = fc.oneof(
  { weight: 3, arbitrary: fc.constant(file()) },
  { weight: 5, arbitrary: fc.constantFrom(...LINK_TEXTS).map(link) },
  { weight: 1, arbitrary: fc.constant({ kind: 'fifo' } as const) },
  { weight: 1, arbitrary: fc.constant(dir()) },
  { weight: 1, arbitrary: fc.constant({ kind: 'hardlink', of: 'd/b' } as const) },
  { weight: 2, arbitrary: fc.constant(undefined) },
);

const randomScenario: fc.Arbitrary<Scenario> = fc
  .record({ entries: fc.tuple(...SLOTS.map(() => slotEntry)), target: fc.constantFrom(...TARGETS) })
  .map(({ entries, target }) => {
    // d/b is a file whenever something hard-links to it; the fixed directories exist.
    const tree: Tree = [
      ['d/b', file('d/b\n')],
      ['e/deep', dir()],
    ];
    for (const [i, entry] of entries.entries()) {
      const slot = SLOTS[i]!;
      if (entry === undefined || slot === 'd/b' || (entry.kind === 'hardlink' && slot.startsWith('d/'))) continue;
      tree.push([slot, entry.kind === 'file' ? file(`${slot}\n`) : entry]);
    }
    const shown = tree.map(([path, e]) => `${path}${e.kind === 'symlink' ? ` -> ${e.text}` : `: ${e.kind}`}`);
    return { name: `random tree {${shown.join(', ')}}`, tree, target };
  });

const randomVariant: fc.Arbitrary<Variant> = fc.record({
  op: fc.constantFrom<Op>('atomicWrite', 'atomicWriteSync', 'openAtomic', 'createExclusive', 'createExclusiveSync'),
  durability: fc.constantFrom<Durability>('none', 'data', 'full'),
  noClobber: fc.boolean(),
});

// ---------------------------------------------------------------------------
// Running a batch of cases: build every copy, run three children (native, js, fs)
// side by side, snapshot every copy.

interface Case {
  scenario: Scenario;
  variant: Variant;
}

interface Observed {
  given: Record<(typeof IMPLS)[number], string>;
  original: Record<string, string>;
  reference: { outcome: Outcome; tree: Record<string, string> };
  impls: Record<(typeof IMPLS)[number], { outcome: Outcome; tree: Record<string, string> }>;
}

async function runChild(impl: string, jobsFile: string): Promise<Outcome[]> {
  // As another user, the child loads a copy of the package it can reach (see as-nobody.ts).
  const run = await runFixture('hostile-child.cjs', [impl, jobsFile], unprivileged());
  return JSON.parse(stdoutOf(run, `${impl} child`).trim()) as Outcome[];
}

async function runBatch(cases: Case[]): Promise<Observed[]> {
  const root = tempDir('cfs-hostile');
  chmodSync(root, 0o755);
  const servers = [];
  const jobs: Record<string, object[]> = { fs: [], native: [], js: [] };
  // One original and one reference copy per scenario and open flags, one copy per call.
  const scenarios = [...new Set(cases.map((c) => c.scenario))];
  const refs = new Map<string, number>();
  // Each copy's tree is three levels down in its own directory, so a `..` (or three) out
  // of the tree stays in the copy and shows in its snapshot.
  const at = (copy: string) => `${root}/${copy}`;
  const treeOf = (copy: string) => `${at(copy)}/u/v/t`;
  for (const [i, scenario] of scenarios.entries()) servers.push(...(await build(treeOf(`${i}/original`), scenario.tree)));
  const observed = [];
  for (const [n, { scenario, variant }] of cases.entries()) {
    const i = scenarios.indexOf(scenario);
    const flags = exclusive(variant) ? 'wx' : 'w';
    const ref = `${i}/fs-${flags}`;
    if (!refs.has(ref)) {
      refs.set(ref, jobs.fs!.length);
      servers.push(...(await build(treeOf(ref), scenario.tree)));
      jobs.fs!.push({ op: 'fs', path: `${treeOf(ref)}/${scenario.target}`, flags, data: DATA });
    }
    for (const impl of IMPLS) {
      servers.push(...(await build(treeOf(`${i}/${impl}-${n}`), scenario.tree)));
      jobs[impl]!.push({ ...variant, path: `${treeOf(`${i}/${impl}-${n}`)}/${scenario.target}`, data: DATA });
    }
    observed.push({ original: `${i}/original`, ref, refJob: refs.get(ref)!, copies: IMPLS.map((impl) => `${i}/${impl}-${n}`) });
  }
  for (const [name, list] of Object.entries(jobs)) writeFileSync(join(root, `${name}.json`), JSON.stringify(list));
  if (IS_ROOT) runChecked('chown', ['-hR', '65534:65534', root]);
  try {
    const [reference, native, js] = await Promise.all(['fs', ...IMPLS].map((impl) => runChild(impl, join(root, `${impl}.json`))));
    const outcomes = [native!, js!];
    return observed.map((o, n) => {
      const copy = (k: number) => ({ outcome: outcomes[k]![n]!, tree: snapshot(at(o.copies[k]!)) });
      const target = cases[n]!.scenario.target;
      return {
        given: { native: `${treeOf(o.copies[0]!)}/${target}`, js: `${treeOf(o.copies[1]!)}/${target}` },
        original: snapshot(at(o.original)),
        reference: { outcome: reference![o.refJob]!, tree: snapshot(at(o.ref)) },
        impls: { native: copy(0), js: copy(1) },
      };
    });
  } finally {
    await closeAll(servers);
  }
}

function runChecked(command: string, args: string[]): void {
  stdoutOf(runSync([command, ...args]), command);
}

// ---------------------------------------------------------------------------
// Checking one implementation's result against the reference and the rules.

/** What the call should do, given what fs did. */
function expected(scenario: Scenario, variant: Variant, reference: Outcome): { ok: true; value: unknown } | { ok: false; code: string } {
  const isCreate = variant.op.startsWith('createExclusive');
  if (!reference.ok) {
    if (isCreate && reference.code === 'EEXIST') return { ok: true, value: false };
    return { ok: false, code: reference.code! };
  }
  const needsDir = scenario.rule === 'needs-writable-dir' || (scenario.rule === 'needs-readable-dir' && variant.durability !== 'none');
  if (needsDir) return { ok: false, code: 'EACCES' };
  return { ok: true, value: isCreate ? true : null };
}

/** Problems with one call's result (none: it passed). */
function check(scenario: Scenario, variant: Variant, observed: Observed, impl: (typeof IMPLS)[number]): string[] {
  const problems: string[] = [];
  const { outcome, tree } = observed.impls[impl];
  const want = expected(scenario, variant, observed.reference.outcome);
  const got = outcome.ok ? { ok: true, value: outcome.value } : { ok: false, code: outcome.code };
  if (JSON.stringify(got) !== JSON.stringify(want)) {
    problems.push(`gave ${JSON.stringify(got)}${outcome.message ? ` (${outcome.message})` : ''}, expected ${JSON.stringify(want)}`);
  }
  if (!outcome.ok && outcome.path !== observed.given[impl]) problems.push(`err.path is ${outcome.path}, not the given path`);
  const temps = tempFiles(tree);
  if (temps.length > 0) problems.push(`left temp files: ${temps.join(', ')}`);
  const wrote = want.ok && want.value !== false;
  const diff = treeDiff(wrote ? observed.reference.tree : observed.original, tree, wrote ? observed.original : undefined);
  if (diff.length > 0) problems.push(`tree differs from ${wrote ? 'the reference' : 'the original'}: ${diff.join('; ')}`);
  return problems;
}

/**
 * Differences between the expected and actual trees. With `original`, a name whose
 * content the reference changed but the call did not is allowed when it is one of
 * several names of one file that changed in place (hard links): exactly one of them
 * may take the new content, the others keep the old.
 */
function treeDiff(want: Record<string, string>, got: Record<string, string>, original?: Record<string, string>): string[] {
  const diff: string[] = [];
  const keys = new Set([...Object.keys(want), ...Object.keys(got)]);
  const changedInPlace = original ? [...keys].filter((k) => original[k] !== undefined && original[k] !== want[k] && k in got) : [];
  const hardLinked = changedInPlace.length > 1 ? new Set(changedInPlace) : new Set<string>();
  for (const key of keys) {
    if (tempFiles({ [key]: '' }).length > 0) continue;
    if (hardLinked.has(key) && got[key] === original?.[key]) continue;
    if (want[key] !== got[key]) diff.push(`${key}: ${want[key] ?? 'absent'} != ${got[key] ?? 'absent'}`);
  }
  if (hardLinked.size > 0) {
    const renewed = [...hardLinked].filter((k) => got[k] === want[k]).length;
    if (renewed !== 1) diff.push(`${renewed} of the hard-linked names ${[...hardLinked].join(', ')} took the new content, not 1`);
  }
  return diff;
}

async function checkAll(cases: Case[]): Promise<string[]> {
  const observed = await runBatch(cases);
  return cases.flatMap(({ scenario, variant }, i) =>
    IMPLS.flatMap((impl) =>
      check(scenario, variant, observed[i]!, impl).map(
        (problem) =>
          `${impl} ${variant.op}(${variant.durability}${variant.noClobber ? ', noClobber' : ''}) on ${scenario.name} [${scenario.target}]: ${problem}`,
      ),
    ),
  );
}

describe.skipIf(process.platform !== 'linux')('hostile paths: every write call does what fs does (or the documented rule)', () => {
  it('the fixed cases, each with every call, durability and noClobber', async () => {
    const cases = FIXED.flatMap((scenario) => VARIANTS.map((variant) => ({ scenario, variant })));
    expect(await checkAll(cases)).toEqual([]);
  });

  it('random trees of links, files, FIFOs, hard links and directories', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ scenario: randomScenario, variant: randomVariant }), { minLength: 20, maxLength: 20 }),
        async (cases) => {
          expect(await checkAll(cases)).toEqual([]);
        },
      ),
      // No shrinking: every try is a batch of child processes; the report lists every case.
      { numRuns: RUNS, endOnFailure: true, ...(SEED === undefined ? {} : { seed: SEED }) },
    );
  });
});
