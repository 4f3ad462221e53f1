// Process-wide strictly increasing RFC 9562 UUIDv7 values, as the core's id/uuidv7.rs.
import { randomFillSync } from 'node:crypto';
import { processMicros } from './clock';

/** Random bytes are drawn from the OS a pool at a time, not per UUID. */
const pool = new Uint8Array(4096);
let poolAt = pool.length;

function randomByte(): number {
  if (poolAt === pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  return pool[poolAt++]!;
}

function random31(): number {
  return ((randomByte() << 23) | (randomByte() << 15) | (randomByte() << 7) | (randomByte() >>> 1)) >>> 0;
}

/** The core's uuidv7 state: RFC 9562 Method 1, 32-bit counter, seeded with its top bit clear. */
let lastMs = 0;
let counter = 0;

function advanceUuidState(): void {
  const nowMs = Math.floor(processMicros() / 1000);
  if (nowMs > lastMs) {
    lastMs = nowMs;
    counter = random31();
  } else if (counter === 0xffffffff) {
    lastMs++; // rollover: borrow the next millisecond, as the RFC allows
    counter = random31();
  } else {
    counter++; // same ms, or the clock went back: keep the last timestamp
  }
}

/** Writes the next UUIDv7 into `out` at `at`: 48-bit ms | 7 | counter | 10 | random 42. */
export function writeUuidBytes(out: Uint8Array, at: number): void {
  advanceUuidState();
  const high = Math.floor(lastMs / 2 ** 32);
  out[at] = high >>> 8;
  out[at + 1] = high;
  out[at + 2] = lastMs >>> 24;
  out[at + 3] = lastMs >>> 16;
  out[at + 4] = lastMs >>> 8;
  out[at + 5] = lastMs;
  out[at + 6] = 0x70 | (counter >>> 28);
  out[at + 7] = counter >>> 20;
  out[at + 8] = 0x80 | ((counter >>> 14) & 0x3f);
  out[at + 9] = counter >>> 6;
  out[at + 10] = ((counter & 0x3f) << 2) | (randomByte() & 0x3);
  for (let i = 11; i < 16; i++) out[at + i] = randomByte();
}

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));
const scratch = new Uint8Array(16);

export function uuidv7(): string {
  writeUuidBytes(scratch, 0);
  const h = (i: number) => HEX[scratch[i]!]!;
  return `${h(0)}${h(1)}${h(2)}${h(3)}-${h(4)}${h(5)}-${h(6)}${h(7)}-${h(8)}${h(9)}-${h(10)}${h(11)}${h(12)}${h(13)}${h(14)}${h(15)}`;
}
