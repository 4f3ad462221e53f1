// @ts-check
// Stable ids of result rows: what the targets and the native-vs-fallback pairs look rows
// up by. An id is built from the fields that say what a row measured (implementation,
// API, mode, durability, size, kind), never from its display name, so renaming a row in
// a table cannot break a target. Sections stamp each row with it; a saved run from
// before rows carried ids gets them from the same fields (`withRowIds`). The task and
// event sections define their runs with ids of their own.

/**
 * @typedef {import('./types.d.mts').Results} Results
 * @typedef {import('./types.d.mts').Row} Row
 */

/** @param {{ impl: string, api: string }} row e.g. 'native:snowflake-next' */
export const idRowId = (row) => `${row.impl}:${row.api}`;

/** @param {{ impl: string, api: string, mode: string, durability: string, size: string }} row e.g. 'native:atomicWriteSync:sync:full:1 KiB' */
export const writeRowId = (row) => `${row.impl}:${row.api}:${row.mode}:${row.durability}:${row.size}`;

/** @param {{ impl: string, api: string }} row e.g. 'native:acquireSync' */
export const lockRowId = (row) => `${row.impl}:${row.api}`;

/** @param {{ kind: string, durability: string }} row e.g. 'native-lock:full' (counter and store loops) */
export const processRowId = (row) => `${row.kind}:${row.durability}`;

/** @param {{ impl: string, what: string }} row e.g. 'native:lock-sync' */
export const memoryRowId = (row) => `${row.impl}:${row.what}`;

/** The rows of a run that may lack ids (saved before they had them), each with its id. */
export function withRowIds(/** @type {Results} */ results) {
  /** @type {<T extends { id?: string }>(rows: T[] | undefined, id: (row: T) => string) => (T & { id: string })[] | undefined} */
  const stamp = (rows, id) => rows?.map((row) => ({ ...row, id: row.id ?? id(row) }));
  return {
    ...results,
    ids: stamp(results.ids, idRowId),
    writes: stamp(results.writes, writeRowId),
    locks: stamp(results.locks, lockRowId),
    counter: stamp(results.counter, processRowId),
    store: stamp(results.store, processRowId),
    memory: stamp(results.memory, memoryRowId),
  };
}

/**
 * A section's rows by id. Two rows with one id would make a lookup ambiguous: an error.
 * @template {{ id: string }} T
 * @param {string} section
 * @param {T[]} rows
 */
export function rowsById(section, rows) {
  /** @type {Map<string, T>} */
  const byId = new Map();
  for (const row of rows) {
    if (byId.has(row.id)) throw new Error(`bench ${section}: two rows have the id ${row.id}`);
    byId.set(row.id, row);
  }
  return {
    rows,
    /** The row of `id`; a target naming a row the run does not have is an error, not a skip. */
    get(/** @type {string} */ id) {
      const row = byId.get(id);
      if (!row)
        throw new Error(`bench ${section}: no result has the id ${id} (a target or pair names a row this section does not produce)`);
      return row;
    },
    has: (/** @type {string} */ id) => byId.has(id),
  };
}
