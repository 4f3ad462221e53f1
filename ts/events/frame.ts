// The event log's record format: framed and checksummed, so a reader can tell a whole
// record from a torn one (an appender killed mid-write) and stops there.
//
//   magic 'CFE1' (4) | payload length u32 LE (4) | seq u64 LE (8) | crc32c u32 LE (4) | payload
//
// The CRC32C covers the seq bytes and the payload. The payload is UTF-8 JSON
// `{"time": <Unix ms>, "data": <event>}`.

export const MAGIC = Buffer.from('CFE1');
export const HEADER_BYTES = 20;
/** A length field above this is garbage (a torn header), never a record to wait for. */
export const MAX_PAYLOAD_BYTES = 256 * 1024 * 1024;

/**
 * One event of an `EventLog`: its `seq` (1, 2, 3 ... without gaps), the append time (Unix ms) and the appended JSON `data`.
 */
export interface LogEvent {
  /** Its place in the log: 1, 2, 3 ... without gaps, in append order. */
  seq: number;
  /** When it was appended, in Unix ms (the appender's clock). */
  time: number;
  /** The JSON value given to `append`. */
  data: unknown;
}

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC32C (Castagnoli), as iSCSI and ext4 use it. */
export function crc32c(chunks: Uint8Array[]): number {
  let crc = 0xffffffff;
  for (const bytes of chunks) {
    for (let i = 0; i < bytes.length; i++) crc = (CRC32C_TABLE[(crc ^ (bytes[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}

export function encodeFrame(seq: number, payload: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  MAGIC.copy(frame, 0);
  frame.writeUInt32LE(payload.length, 4);
  frame.writeBigUInt64LE(BigInt(seq), 8);
  payload.copy(frame, HEADER_BYTES);
  frame.writeUInt32LE(crc32c([frame.subarray(8, 16), payload]), 16);
  return frame;
}

/**
 * Where the frame at `offset` of `buf` ends and its seq, when it is whole and its checksum
 * holds; 'short' when `buf` ends inside it (more may come, or it is a torn tail); 'bad'
 * when it is not a valid frame (a torn tail that later bytes can never complete).
 * Appenders only need this; readers also parse the payload (`decodeFrame`).
 */
export function checkFrame(buf: Buffer, offset: number): { seq: number; end: number } | 'short' | 'bad' {
  const have = buf.length - offset;
  if (have < HEADER_BYTES) {
    // A header cut by the end of what was read: more may follow if what is there starts like one.
    const prefix = Math.min(have, MAGIC.length);
    if (!buf.subarray(offset, offset + prefix).equals(MAGIC.subarray(0, prefix))) return 'bad';
    return have >= 8 && buf.readUInt32LE(offset + 4) > MAX_PAYLOAD_BYTES ? 'bad' : 'short';
  }
  if (!buf.subarray(offset, offset + 4).equals(MAGIC)) return 'bad';
  const length = buf.readUInt32LE(offset + 4);
  if (length > MAX_PAYLOAD_BYTES) return 'bad';
  const end = offset + HEADER_BYTES + length;
  if (end > buf.length) return 'short';
  const payload = buf.subarray(offset + HEADER_BYTES, end);
  if (crc32c([buf.subarray(offset + 8, offset + 16), payload]) !== buf.readUInt32LE(offset + 16)) return 'bad';
  return { seq: Number(buf.readBigUInt64LE(offset + 8)), end };
}

/** `checkFrame`, and the event it holds; a payload that is not JSON makes it 'bad'. */
export function decodeFrame(buf: Buffer, offset: number): { event: LogEvent; seq: number; end: number } | 'short' | 'bad' {
  const checked = checkFrame(buf, offset);
  if (typeof checked !== 'object') return checked;
  let parsed: { time: number; data: unknown };
  try {
    parsed = JSON.parse(buf.toString('utf8', offset + HEADER_BYTES, checked.end));
  } catch {
    return 'bad';
  }
  return { event: { seq: checked.seq, time: parsed.time, data: parsed.data }, seq: checked.seq, end: checked.end };
}
