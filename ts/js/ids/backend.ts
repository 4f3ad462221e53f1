// IDs in plain JavaScript: the same algorithms as the Rust core (crates/concurrent-fs-core/
// src/id/), so both implementations mint IDs with the same layout and guarantees.
import type { IdBackend } from '../../id-backend';
import { processMicros } from './clock';
import { JsSnowflakeEngine, parseSnowflake } from './snowflake';
import { uuidv7, writeUuidBytes } from './uuidv7';
import { machineWorkerId } from './worker-id';
import { workerMarks } from './worker-marks';

export const jsIds: IdBackend = {
  createSnowflake: (settings) => new JsSnowflakeEngine(settings),
  holdMark: (workerId, path) => workerMarks(workerId).hold(path, processMicros() / 1000),
  clockMs: () => processMicros() / 1000,
  parseSnowflake,
  uuidv7,
  uuidv7Bytes: () => {
    const out = new Uint8Array(16);
    writeUuidBytes(out, 0);
    return out;
  },
  uuidv7Batch: (count) => {
    const out = new Array<string>(count);
    for (let i = 0; i < count; i++) out[i] = uuidv7();
    return out;
  },
  machineWorkerId,
};
