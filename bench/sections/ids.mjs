// @ts-check
// Section 1: IDs, per ID. Each timed call mints a block of IDs (a JS-to-native call or a
// timer read costs more than one ID), and every generator also mints a burst of IDs back
// to back whose duplicates are counted: a rate means nothing if the IDs repeat.
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { Snowflake as SapphireSnowflake } from '@sapphire/snowflake';
import { v4 as uuidv4, v7 as uuidv7Peer } from 'uuid';
import { measure, resultOf } from '../lib/measure.mjs';
import { idRowId } from '../lib/row-ids.mjs';

const require = createRequire(import.meta.url);
const FlakeId = require('flake-idgen');

/** IDs per timed call for the one-at-a-time generators. */
const BLOCK = 1000;

/**
 * @typedef {import('../lib/types.d.mts').Libs} Libs
 * @typedef {import('../lib/types.d.mts').Config} Config
 * @typedef {import('../lib/types.d.mts').IdRow} IdRow
 */

/**
 * @typedef {object} Generator
 * @property {string} name
 * @property {'native' | 'js' | 'peer'} impl
 * @property {string} api
 * @property {() => unknown[] | ArrayLike<unknown>} [batch] mints a batch (batch generators)
 * @property {number} [batchSize]
 * @property {() => unknown} [one] mints one ID (per-call generators)
 * @property {(id: any) => unknown} [key] a Set key for an ID (Buffers are compared as hex)
 * @property {boolean} [throws] a call may throw instead of minting (counted, see `timedTask`)
 * @property {number} [calls] calls of a throwing generator in the timed rounds
 * @property {number} [minted] of those, the calls that returned an ID
 */

/** @returns {Generator[]} */
function generators(/** @type {Libs} */ cfs) {
  /** @type {Generator[]} */
  const list = [];
  for (const [impl, lib] of /** @type {const} */ ([
    ['native', cfs.native],
    ['js', cfs.js],
  ])) {
    const next = new lib.Snowflake({ workerId: 1 });
    const nextString = new lib.Snowflake({ workerId: 2 });
    const batch = new lib.Snowflake({ workerId: 3 });
    list.push(
      { name: `${impl} Snowflake next()`, impl, api: 'snowflake-next', one: () => next.next() },
      { name: `${impl} Snowflake nextString()`, impl, api: 'snowflake-nextString', one: () => nextString.nextString() },
      {
        name: `${impl} Snowflake nextBatch(10000)`,
        impl,
        api: 'snowflake-nextBatch',
        batch: () => batch.nextBatch(10_000),
        batchSize: 10_000,
      },
      { name: `${impl} uuidv7()`, impl, api: 'uuidv7', one: () => lib.uuidv7() },
      { name: `${impl} uuidv7Batch(1000)`, impl, api: 'uuidv7Batch', batch: () => lib.uuidv7Batch(1000), batchSize: 1000 },
    );
  }
  const sapphire = new SapphireSnowflake(Date.UTC(2024, 0, 1));
  const flake = new FlakeId({ id: 5 });
  list.push(
    { name: 'crypto.randomUUID()', impl: 'peer', api: 'randomUUID', one: () => randomUUID() },
    { name: 'uuid v4()', impl: 'peer', api: 'uuid-v4', one: () => uuidv4() },
    { name: 'uuid v7()', impl: 'peer', api: 'uuid-v7', one: () => uuidv7Peer() },
    { name: '@sapphire/snowflake generate()', impl: 'peer', api: 'sapphire', one: () => sapphire.generate() },
    // Sync next() throws "Sequence exceeded" past 4096 IDs in a millisecond: a throw is
    // a call that minted nothing, so it counts as a call but not as an ID.
    {
      name: 'flake-idgen next()',
      impl: 'peer',
      api: 'flake-idgen',
      one: () => flake.next(),
      key: (/** @type {Buffer} */ b) => b.toString('hex'),
      throws: true,
    },
  );
  return list;
}

/** Where minted IDs go, so the loops cannot be optimised away. */
/** @type {{ value: unknown }} */
const sink = { value: undefined };

/** @returns {import('../lib/measure.mjs').TaskSpec} */
function timedTask(/** @type {Generator} */ g) {
  const { batch, one } = g;
  if (batch) {
    return {
      name: g.name,
      ops: g.batchSize,
      fn: () => {
        sink.value = batch();
      },
    };
  }
  if (!one) throw new Error(`${g.name}: neither batch nor one`);
  if (g.throws) {
    // A throwing call costs its time but mints nothing: the rate is scaled afterwards
    // by the share of calls that returned an ID.
    g.calls = 0;
    g.minted = 0;
    return {
      name: g.name,
      ops: BLOCK,
      fn: () => {
        for (let i = 0; i < BLOCK; i++) {
          g.calls = (g.calls ?? 0) + 1;
          try {
            sink.value = one();
            g.minted = (g.minted ?? 0) + 1;
          } catch {}
        }
      },
    };
  }
  return {
    name: g.name,
    ops: BLOCK,
    fn: () => {
      for (let i = 0; i < BLOCK; i++) sink.value = one();
    },
  };
}

/** Mints `count` IDs back to back; returns the burst rate, duplicates and throws. */
function burst(/** @type {Generator} */ g, /** @type {number} */ count) {
  const ids = new Array(count);
  let produced = 0;
  let throws = 0;
  const started = performance.now();
  const { batch, one = () => undefined } = g;
  if (batch) {
    while (produced < count) {
      const minted = batch();
      for (let i = 0; i < minted.length && produced < count; i++) ids[produced++] = minted[i];
    }
  } else {
    for (let calls = 0; calls < count; calls++) {
      try {
        ids[produced] = one();
        produced++;
      } catch {
        throws++;
      }
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const key = g.key ?? ((/** @type {unknown} */ id) => id);
  const seen = new Set();
  for (let i = 0; i < produced; i++) seen.add(key(ids[i]));
  return { produced, rate: produced / seconds, duplicates: produced - seen.size, throws };
}

/** @returns {Promise<IdRow[]>} */
export async function runIds(/** @type {Libs} */ cfs, /** @type {Config} */ config) {
  const list = generators(cfs);
  config.log('IDs: rates');
  const rates = await measure(list.map(timedTask), config);
  // After the timed rounds, so every generator is warm.
  config.log('IDs: bursts (duplicates)');
  const bursts = list.map((g) => burst(g, config.burst));
  return list.map((g, i) => {
    const r = resultOf(rates, g.name);
    const b = /** @type {ReturnType<typeof burst>} */ (bursts[i]);
    const minted = g.throws ? (g.minted ?? 0) / (g.calls ?? 1) : 1;
    return {
      id: idRowId(g),
      name: g.name,
      impl: g.impl,
      api: g.api,
      rate: r.rate * minted,
      roundRates: r.rounds.map((rate) => rate * minted),
      burst: { ids: b.produced, rate: b.rate, duplicates: b.duplicates, throws: b.throws },
    };
  });
}
