// The shapes of one bench run: its configuration, the rows each section returns, and the
// targets evaluated on them. Every row has an `id` that says what was measured (see
// row-ids.mjs); targets look rows up by it, never by the display name.

/** The library under test, typed from the built package's declarations. */
export type NativeLib = typeof import('../../dist/native.js');
export type JsLib = typeof import('../../dist/js.js');
export interface Libs {
  native: NativeLib;
  js: JsLib;
}

/** Who a row measures: ours (native addon, pure-JS fallback), a peer package, a hand-written baseline, the disk. */
export type Impl = 'native' | 'js' | 'peer' | 'baseline' | 'disk';

export type Durability = 'none' | 'data' | 'full';

export interface Timing {
  time: number;
  warmupTime: number;
  rounds: number;
}

export interface Config extends Timing {
  dir: string;
  burst: number;
  memoryOps: number;
  log: (line: string) => void;
  /** Overrides of the timing for the write section (more, shorter rounds). */
  writeTiming: Partial<Timing>;
  contention: { processes: number; iterations: number; rounds: number; durabilities: Durability[] };
  taskQueue: { tasks: number; rounds: number };
  events: EventsConfig;
}

export interface EventsConfig {
  counts: EventCounts;
  tail: TailConfig;
  rounds: number;
}
/**
 * Appends per run, split among its processes: at `none`, at the flushed durabilities one in
 * flight per process, and with 32 in flight (each flush covers many: more, so a run lasts).
 */
export interface EventCounts {
  none: number;
  flushed: number;
  batched: number;
}
export interface TailConfig {
  count: number;
  paceMs: number;
  durability: Durability;
}

/** One row of a section: its stable id and the display name of the tables. */
export interface Row {
  id: string;
  name: string;
}

export interface IdRow extends Row {
  impl: Impl;
  api: string;
  rate: number;
  roundRates: number[];
  burst: { ids: number; rate: number; duplicates: number; throws: number };
}

export interface WriteRow extends Row {
  size: string;
  impl: Impl;
  api: string;
  mode: 'sync' | 'async';
  durability: string;
  rate: number;
  roundRates: number[];
}

export interface LockRow extends Row {
  impl: Impl;
  api: string;
  mode: 'sync' | 'async';
  rate: number;
  roundRates: number[];
}

/** A locked counter or store loop: one process vs many on one file. */
export interface ProcessRow extends Row {
  kind: string;
  impl: Impl;
  durability: Durability;
  processes: number;
  iterations: number;
  oneProcess: number;
  manyProcesses: number;
  ratio: number;
  cpuMicrosPerOp?: { one: number; many: number };
  countsChecked: boolean;
  roundRates: { one: number[]; many: number[]; oneCpu: number[]; manyCpu: number[] };
}

export interface MemorySample {
  rss: number;
  heapUsed: number;
}
export interface MemoryProbe {
  id: string;
  name: string;
  impl: Impl;
  what: string;
  ops: number;
  seconds: number;
  samples: MemorySample[];
}
export interface MemoryRow extends MemoryProbe {
  rssStartMiB: number;
  rssEndMiB: number;
  rssGrowthMiB: number;
  rssEndOverFirstHalfMaxMiB: number;
  heapGrowthMiB: number;
}

export interface TaskRun {
  id: string;
  mode: 'processes' | 'in-process';
  workers: number;
}
export interface TaskRound {
  rate: number;
  rateWithStart: number;
  doubleClaims: number;
  claimP50: number;
  claimP99: number;
  cpuMicrosPerTask: number;
}
export interface TaskRow extends TaskRun, TaskRound {
  tasks: number;
  rounds: TaskRound[];
}

export interface EventRun {
  id: string;
  kind: 'append' | 'raw';
  durability: Durability;
  processes: number;
  inflight: number;
  count: number;
}
export interface AppendRound {
  rate: number;
  appendP50: number;
  appendP99: number;
  cpuMicrosPerAppend: number;
}
export interface EventRow extends EventRun, AppendRound {
  rounds: AppendRound[];
}
export interface TailRound {
  p50: number;
  p99: number;
  events: number;
}
export interface TailRow {
  id: 'tail';
  kind: 'tail';
  durability: Durability;
  processes: number;
  count: number;
  paceMs: number;
  tailP50: number;
  tailP99: number;
  rounds: TailRound[];
}

export interface Results {
  ids?: IdRow[];
  writes?: WriteRow[];
  locks?: LockRow[];
  counter?: ProcessRow[];
  store?: ProcessRow[];
  memory?: MemoryRow[];
  tasks?: TaskRow[];
  events?: (EventRow | TailRow)[];
}
export type Section = keyof Results;

export interface Target {
  id: string;
  path: string;
  target: string;
  measured: string;
  met: boolean;
  why: string | undefined;
}

export interface Machine {
  date: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  dir: string;
  filesystem: { type: string | undefined; source?: string | undefined; options?: string | undefined };
  loadAverageAtStart: number[];
  commit: string | undefined;
}

/** What a run records beside its results (and a saved run brings back). */
export interface Run {
  machine: Machine;
  config: Omit<Config, 'log'> & { quick: boolean; sections: string[] };
  load: { at: string; load1: number }[];
  seconds: number;
  loadAverageAtEnd: number[];
  reportedAgain?: string;
  /** Sections measured again later, in a partial run of their own, and merged in (`--merge`). */
  remeasured?: { section: string; date: string; commit?: string; load1: number; seconds: number; config: Run['config'] }[];
}
