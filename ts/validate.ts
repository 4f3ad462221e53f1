// Argument checks shared by every public function. They run before any file is
// touched and throw Node's own error codes.
import { fileURLToPath } from 'node:url';
import type { Durability, WriteSettings } from './backend';
import { invalidArgType, invalidArgValue, outOfRange } from './errors';

const DURABILITIES: readonly Durability[] = ['none', 'data', 'full'];

export function toPath(value: unknown, name = 'path'): string {
  let path: string;
  if (typeof value === 'string') path = value;
  else if (value instanceof URL) path = fileURLToPath(value);
  else throw invalidArgType(name, 'of type string or an instance of URL', value);
  if (path.includes('\0')) throw invalidArgValue(name, path, 'must be a string without null bytes');
  if (path.length === 0) throw invalidArgValue(name, path, 'must be a non-empty string');
  return path;
}

export function toBytes(data: unknown, encoding: BufferEncoding, name = 'data'): Uint8Array {
  if (typeof data === 'string') return Buffer.from(data, encoding);
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw invalidArgType(name, 'of type string or an instance of Buffer, TypedArray, or DataView', data);
}

export function toOptions(value: unknown, name = 'options'): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object') throw invalidArgType(name, 'of type object', value);
  return value as Record<string, unknown>;
}

export function toSignal(value: unknown, name = 'options.signal'): AbortSignal | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof AbortSignal)) throw invalidArgType(name, 'an instance of AbortSignal', value);
  return value;
}

export function toBoolean(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalidArgType(name, 'of type boolean', value);
  return value;
}

export function toEncoding(value: unknown, name = 'options.encoding'): BufferEncoding {
  if (value === undefined) return 'utf8';
  if (typeof value !== 'string' || !Buffer.isEncoding(value)) throw invalidArgValue(name, value, 'is invalid encoding');
  return value;
}

/**
 * An integer from `min` to `max`: ERR_INVALID_ARG_TYPE for a non-number, ERR_OUT_OF_RANGE
 * outside, with `range` (by default "an integer >= min and <= max") in the message.
 */
export function toIntegerIn(value: unknown, name: string, min: number, max: number, range = `an integer >= ${min} and <= ${max}`): number {
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value);
  if (!Number.isInteger(value) || value < min || value > max) throw outOfRange(name, range, value);
  return value;
}

/** A timeout in ms: a non-negative number or Infinity. */
export function toTimeout(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value);
  if (Number.isNaN(value) || value < 0) throw outOfRange(name, '>= 0 (or Infinity)', value);
  return value;
}

export function toDurability(value: unknown, name = 'options.durability'): Durability {
  const durability = value ?? 'full';
  if (!DURABILITIES.includes(durability as Durability)) throw invalidArgValue(name, durability, "must be one of 'none', 'data', 'full'");
  return durability as Durability;
}

/** Exact permission bits, or undefined to keep the old file's. */
export function toMode(value: unknown, name = 'options.mode'): number | undefined {
  if (value === undefined) return undefined;
  return toIntegerIn(value, name, 0, 0o7777, '>= 0 && <= 4095 (0o7777)');
}

/** JSON indentation, as `JSON.stringify` takes it: a count of spaces (0-10) or a string. */
export function toSpaces(value: unknown, name = 'options.spaces'): number | string {
  if (value === undefined) return 2;
  if (typeof value === 'string') return value;
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number or string', value);
  return toIntegerIn(value, name, 0, 10, 'an integer >= 0 && <= 10');
}

export function toWriteSettings(options: Record<string, unknown>): WriteSettings {
  return {
    durability: toDurability(options.durability),
    mode: toMode(options.mode),
    noClobber: toBoolean(options.noClobber, 'options.noClobber', false),
  };
}

/** Scanning 2^bits lock files is fine up to 65536 (sonyflake's machine field). */
const MAX_LEASE_BITS = 16;

/** `options.bits` of a worker-ID lease (local or on etcd): an integer 1..16, default 10. */
export function toLeaseBits(value: unknown): number {
  if (value === undefined) return 10;
  return toIntegerIn(value, 'options.bits', 1, MAX_LEASE_BITS);
}
